/* Test plugin "alpha", in plain C against the raw ABI: owns the table alpha_items, fails init when
 * its configuration says fail = "init" (reporting the error with set_error), and at start runs one
 * parameterized query through the C database functions. */
#include <plinth/plinth_plugin.h>

#include <stdio.h>
#include <string.h>

static const plinth_column columns[] = {
    {.struct_size = sizeof(plinth_column), .flags = PLINTH_COLUMN_NOT_NULL, .name = "id", .type = "integer"},
};
static const char *const primary_key[] = {"id"};
static const plinth_table tables[] = {{
    .struct_size = sizeof(plinth_table),
    .column_count = 1,
    .name = "alpha_items",
    .columns = columns,
    .primary_key = primary_key,
    .primary_key_count = 1,
}};

static int configured(const plinth_host *host, const char *key, const char *value) {
    const char *actual = host->config_get(host, key);
    return actual && strcmp(actual, value) == 0;
}

static uint32_t alpha_init(const plinth_host *host, void **state) {
    (void)state;
    host->log(host, PLINTH_LOG_INFO, "init");
    if (!PLINTH_HOST_HAS(host, db_error_free)) {
        host->set_error(host, "this host has no database access");
        return PLINTH_ERROR;
    }
    if (configured(host, "fail", "init")) {
        host->set_error(host, "configured to fail in init");
        return PLINTH_ERROR;
    }
    return PLINTH_OK;
}

static uint32_t alpha_start(const plinth_host *host, void *state) {
    (void)state;
    host->log(host, PLINTH_LOG_INFO, "start");
    const char *params[] = {"41", NULL};
    plinth_db_result *result = NULL;
    plinth_db_error *error = NULL;
    if (host->db_query(host, NULL, "SELECT $1::int + 1 AS answer, $2::text AS nothing", 2, params, &result,
                       &error) != PLINTH_OK) {
        host->set_error(host, error ? error->message : "query failed");
        host->db_error_free(host, error);
        return PLINTH_ERROR;
    }
    char line[160];
    snprintf(line, sizeof line, "%s = %s, %s is %s", result->column_names[0], result->values[0],
             result->column_names[1], result->values[1] ? "set" : "NULL");
    host->log(host, PLINTH_LOG_INFO, line);
    host->db_result_free(host, result);
    return PLINTH_OK;
}

static uint32_t alpha_stop(const plinth_host *host, void *state) {
    (void)state;
    host->log(host, PLINTH_LOG_INFO, "stop");
    return PLINTH_OK;
}

static const plinth_plugin_descriptor descriptor = {
    .abi_major = PLINTH_ABI_MAJOR,
    .abi_minor = PLINTH_ABI_MINOR,
    .struct_size = sizeof(plinth_plugin_descriptor),
    .name = "alpha",
    .version = "1.0.0",
    .tables = tables,
    .table_count = 1,
    .init = alpha_init,
    .start = alpha_start,
    .stop = alpha_stop,
};

PLINTH_EXPORT const plinth_plugin_descriptor *plinth_plugin_entry_v1(void) { return &descriptor; }
