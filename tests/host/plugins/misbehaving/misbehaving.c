/* Plugins that misbehave beyond returning an error, one per way, for the supervised `plinth run`;
 * one source built once per MODE:
 *   crash_init     segfaults in init              abort_start   calls abort() in start
 *   crash_thread   a thread it starts segfaults once the file named by its configuration key
 *                  "crash_when" exists (the test's ready file), i.e. while running
 *   abort_thread   the same with abort(), which faults in libc: traced by its stack
 *   overflow_thread  the same with a recursion that overflows the thread's stack
 *   crash_stop     segfaults in stop              exit_init     calls exit(3) in init
 *   hang_init      init never returns             hang_stop     stop never returns
 *   exit_ctor      a library constructor calls exit(0)
 *   crash_ctor     a library constructor segfaults abort_ctor    a library constructor aborts
 *   hang_ctor      a library constructor never returns
 *   crash_entry    its entry function segfaults
 * and "steady", the healthy plugin beside them: from start to stop a thread inserts a row into
 * steady_beats every 20 ms, so a test sees it keep running. */
#include <plinth/plinth_plugin.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MODE_IS(m) (strcmp(MODE, m) == 0)

/* A store to an address below the first page the kernel ever maps: it faults here. Not NULL, which
 * would be undefined behaviour that UBSan reports (and ends the process) before the fault, in the
 * sanitized suite; the compiler cannot see through the volatile pointer, so it emits the store. */
static void crash(void) {
    int *volatile nowhere = (int *)16;
    *nowhere = 1;
}

static void hang(void) {
    for (;;) sleep(1);
}

/* Runs when the library is loaded, before plinth calls anything of it. */
__attribute__((constructor)) static void misbehave_when_loaded(void) {
    if (MODE_IS("exit_ctor")) exit(0);
    if (MODE_IS("crash_ctor")) crash();
    if (MODE_IS("abort_ctor")) abort();
    if (MODE_IS("hang_ctor")) {
        static const char said[] = "hang_ctor: a constructor that never returns\n";
        (void)!write(2, said, sizeof said - 1); /* a test waits for it before it signals plinth */
        hang();
    }
}

static char crash_when[4096];
static atomic_int stopping;
static pthread_t thread;
static int thread_started;

/* Each frame holds a page; the sum keeps the call from being a tail call. The first byte is always
 * 0: the test of it is there so that the compiler does not call the recursion endless. */
static int overflow(volatile char *previous) {
    volatile char page[4096];
    page[0] = previous[0];
    if (page[0] == 1) return 0;
    return overflow(page) + page[1];
}

static void *crash_later(void *unused) {
    (void)unused;
    struct stat st;
    while (stat(crash_when, &st) != 0) usleep(10000);
    if (MODE_IS("abort_thread")) abort();
    if (MODE_IS("overflow_thread")) {
        volatile char first = 0;
        overflow(&first);
    }
    crash();
    return NULL;
}

static void *beat(void *data) {
    const plinth_host *host = data;
    while (!atomic_load(&stopping)) {
        plinth_db_result *result = NULL;
        plinth_db_error *error = NULL;
        if (host->db_query(host, NULL, "INSERT INTO steady_beats (id) VALUES (gen_random_uuid()::text)", 0, NULL,
                           &result, &error) == PLINTH_OK)
            host->db_result_free(host, result);
        else
            host->db_error_free(host, error);
        usleep(20000);
    }
    return NULL;
}

static uint32_t misbehaving_init(const plinth_host *host, void **state) {
    (void)state;
    host->log(host, PLINTH_LOG_INFO, "init");
    if (MODE_IS("crash_init")) crash();
    if (MODE_IS("exit_init")) exit(3);
    if (MODE_IS("hang_init")) hang();
    return PLINTH_OK;
}

static uint32_t misbehaving_start(const plinth_host *host, void *state) {
    (void)state;
    host->log(host, PLINTH_LOG_INFO, "start");
    if (MODE_IS("abort_start")) abort();
    if (MODE_IS("crash_thread") || MODE_IS("abort_thread") || MODE_IS("overflow_thread")) {
        const char *when = host->config_get(host, "crash_when");
        if (!when) {
            host->set_error(host, "crash_when is not configured");
            return PLINTH_ERROR;
        }
        strncpy(crash_when, when, sizeof crash_when - 1);
        pthread_create(&thread, NULL, crash_later, NULL);
        pthread_detach(thread);
    }
    if (MODE_IS("steady")) {
        atomic_store(&stopping, 0);
        thread_started = pthread_create(&thread, NULL, beat, (void *)host) == 0;
    }
    return PLINTH_OK;
}

static uint32_t misbehaving_stop(const plinth_host *host, void *state) {
    (void)state;
    host->log(host, PLINTH_LOG_INFO, "stop");
    if (MODE_IS("crash_stop")) crash();
    if (MODE_IS("hang_stop")) hang();
    if (thread_started) {
        atomic_store(&stopping, 1);
        pthread_join(thread, NULL);
        thread_started = 0;
    }
    return PLINTH_OK;
}

static const plinth_column columns[] = {
    {.struct_size = sizeof(plinth_column), .flags = PLINTH_COLUMN_NOT_NULL, .name = "id", .type = "text"},
};
static const char *const primary_key[] = {"id"};
static const plinth_table tables[] = {{
    .struct_size = sizeof(plinth_table),
    .column_count = 1,
    .name = "steady_beats",
    .columns = columns,
    .primary_key = primary_key,
    .primary_key_count = 1,
}};

static const plinth_plugin_descriptor descriptor = {
    .abi_major = PLINTH_ABI_MAJOR,
    .abi_minor = PLINTH_ABI_MINOR,
    .struct_size = sizeof(plinth_plugin_descriptor),
    .name = NAME,
    .version = "1.0.0",
    .tables = tables,
    .table_count = MODE_IS_STEADY,
    .init = misbehaving_init,
    .start = misbehaving_start,
    .stop = misbehaving_stop,
};

PLINTH_EXPORT const plinth_plugin_descriptor *plinth_plugin_entry_v1(void) {
    if (MODE_IS("crash_entry")) crash();
    return &descriptor;
}
