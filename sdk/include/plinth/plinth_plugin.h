/*
 * plinth plugin ABI, major version 1.
 *
 * This header is the whole contract between the plinth host and a plugin. It is plain C with
 * fixed-width types. Within major version 1 it only ever grows at the end of a struct; every
 * struct starts with its own size so the host reads only the fields a plugin was built with.
 *
 * Ownership, once for all:
 *  - Everything reachable from the descriptor (strings, arrays, nested structs) belongs to the
 *    plugin and must stay valid and unchanged while the library is loaded. The host deep-copies it
 *    right after the version check and never keeps a pointer into it.
 *  - Strings a plugin passes to a host function are borrowed for the duration of that call only;
 *    the host copies what it keeps.
 *  - Pointers the host passes to the plugin (plinth_host and everything it points to) are borrowed:
 *    valid from the start of init until stop returns, unless a function says otherwise.
 *  - All strings are NUL-terminated UTF-8. A NULL string means "not set" where a field says so.
 *  - No C++ exception may cross this boundary in either direction.
 *
 * Arrays of structs are read with a stride of their first element's struct_size, so a plugin built
 * against a later 1.x header, whose structs are larger, is still read correctly by an older host.
 */
#ifndef PLINTH_PLUGIN_H
#define PLINTH_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PLINTH_ABI_MAJOR 1
#define PLINTH_ABI_MINOR 4

/* The entry symbol carries the major version: a host looks only for the one it understands,
 * and can name the version of a plugin built for another major. */
#define PLINTH_ENTRY_SYMBOL "plinth_plugin_entry_v1"
#define PLINTH_ENTRY_SYMBOL_PREFIX "plinth_plugin_entry_v"

#if defined(_WIN32)
#define PLINTH_EXPORT __declspec(dllexport)
#else
#define PLINTH_EXPORT __attribute__((visibility("default")))
#endif

/* Referential actions of a foreign key (ON DELETE / ON UPDATE). */
typedef enum plinth_fk_action {
    PLINTH_FK_NO_ACTION = 0,
    PLINTH_FK_RESTRICT = 1,
    PLINTH_FK_CASCADE = 2,
    PLINTH_FK_SET_NULL = 3,
    PLINTH_FK_SET_DEFAULT = 4
} plinth_fk_action;

/*
 * Source locations (ABI 1.2). Each declared object (table, column, unique constraint, index,
 * foreign key, check) ends with where the plugin's author declared it, so that plinth's messages
 * can name the line. The C++ SDK fills them from std::source_location; a plain-C plugin may leave
 * them zero. The host reads them only when the element's struct_size covers them, so plugins built
 * against 1.0 or 1.1 keep loading, without locations.
 *   const char *source_file;  NULL: not known; else the path as the compiler saw it, owned by the
 *                             plugin like every descriptor string (a string literal in practice)
 *   uint32_t source_line;     0: not known; else 1-based
 *   uint32_t source_reserved; 0; makes the padding at the end of the struct explicit
 */

/*
 * Renames (ABI 1.4). A table or column whose renamed_from is set is renamed in place (ALTER TABLE
 * ... RENAME, catalog only: no row is touched) when the database has the old name and not the new
 * one; once renamed, it is an ordinary declaration. Both names present is an error naming both.
 * The string is owned by the plugin like every descriptor string. Read only when the element's
 * struct_size covers it, so older plugins keep loading.
 */

/* plinth_column.flags */
#define PLINTH_COLUMN_NOT_NULL 0x1u

/* plinth_index.flags */
#define PLINTH_INDEX_UNIQUE 0x1u

typedef struct plinth_column {
    uint32_t struct_size;    /* sizeof(plinth_column) as the plugin was built */
    uint32_t flags;          /* PLINTH_COLUMN_* */
    const char *name;        /* required */
    const char *type;        /* required; SQL type as written in DDL: "uuid", "varchar(64)", "text[]", "vector(384)" */
    const char *default_sql; /* NULL: no default; else an SQL expression: "now()", "'{}'::jsonb" */
    /* ABI 1.2: where the author declared it; see "Source locations" above */
    const char *source_file; /* NULL: not known */
    uint32_t source_line;    /* 0: not known */
    uint32_t source_reserved; /* 0 */
    /* ABI 1.4: how the data of an existing table changes with the column. Both strings are owned by
     * the plugin like every descriptor string; the host reads them only when struct_size covers them. */
    const char *backfill;     /* NULL: none; else one SQL expression over the row that gives existing
                                 rows their value: "coalesce(legacy_priority, 0)". The column is added
                                 nullable, filled after the commit in batches, then made NOT NULL
                                 online. Only on a NOT NULL column. */
    const char *using_expression; /* NULL: the server's own conversion; else the USING expression of a
                                 type change that rewrites the table ("legacy_id::bigint"), applied
                                 only when the operator allows the table-rewrite hazard */
    /* ABI 1.4: see "Renames" below */
    const char *renamed_from; /* NULL: not renamed; else this column's previous name in its table */
} plinth_column;

typedef struct plinth_unique {
    uint32_t struct_size;
    uint32_t column_count;
    const char *name;                /* NULL: "<table>_<columns>_key" */
    const char *const *columns;      /* column_count column names */
    /* ABI 1.2: where the author declared it; see "Source locations" above */
    const char *source_file;         /* NULL: not known */
    uint32_t source_line;            /* 0: not known */
    uint32_t source_reserved;        /* 0 */
} plinth_unique;

typedef struct plinth_index {
    uint32_t struct_size;
    uint32_t flags;                  /* PLINTH_INDEX_* */
    const char *name;                /* NULL: "<table>_<columns>_idx" */
    const char *method;              /* NULL: "btree" */
    const char *const *keys;         /* key_count keys: a column name, or an expression in parentheses */
    const char *predicate;           /* NULL: not partial; else the WHERE expression */
    uint32_t key_count;
    uint32_t reserved;
    /* ABI 1.2: where the author declared it; see "Source locations" above */
    const char *source_file;         /* NULL: not known */
    uint32_t source_line;            /* 0: not known */
    uint32_t source_reserved;        /* 0 */
    /* ABI 1.3: how each key is indexed and the index's storage parameters, for similarity indexes
     * (pgvector's hnsw and ivfflat) and any other method that takes them. The arrays and strings are
     * owned by the plugin like every descriptor string. */
    const char *const *opclasses;    /* NULL: every key uses its type's default operator class; else
                                        key_count entries, each NULL (that key's default) or an
                                        operator class name: "vector_cosine_ops" */
    const char *const *option_names; /* option_count storage parameter names: "m", "ef_construction",
                                        "lists"; NULL when option_count is 0 */
    const char *const *option_values;/* option_count values, as SQL writes them after '=': "16" */
    uint32_t option_count;
    uint32_t options_reserved;       /* 0 */
} plinth_index;

typedef struct plinth_foreign_key {
    uint32_t struct_size;
    uint32_t column_count;           /* length of columns, and of ref_columns when those are given */
    const char *name;                /* NULL: "<table>_<columns>_fkey" */
    const char *const *columns;      /* referencing columns of this table */
    const char *ref_schema;          /* NULL: this plugin's schema */
    const char *ref_table;           /* required; a table of this plugin or of a required plugin */
    const char *const *ref_columns;  /* NULL: the referenced table's primary key */
    uint32_t on_delete;              /* plinth_fk_action */
    uint32_t on_update;              /* plinth_fk_action */
    /* ABI 1.2: where the author declared it; see "Source locations" above */
    const char *source_file;         /* NULL: not known */
    uint32_t source_line;            /* 0: not known */
    uint32_t source_reserved;        /* 0 */
} plinth_foreign_key;

typedef struct plinth_check {
    uint32_t struct_size;
    uint32_t reserved;
    const char *name;                /* required */
    const char *expression;          /* required; a boolean SQL expression */
    /* ABI 1.2: where the author declared it; see "Source locations" above */
    const char *source_file;         /* NULL: not known */
    uint32_t source_line;            /* 0: not known */
    uint32_t source_reserved;        /* 0 */
} plinth_check;

typedef struct plinth_table {
    uint32_t struct_size;
    uint32_t column_count;
    const char *name;                           /* required */
    const plinth_column *columns;               /* column_count entries */
    const char *const *primary_key;             /* primary_key_count column names; composite allowed */
    const char *primary_key_name;               /* NULL: "<table>_pkey" */
    const plinth_unique *uniques;
    const plinth_index *indexes;
    const plinth_foreign_key *foreign_keys;
    const plinth_check *checks;
    uint32_t primary_key_count;
    uint32_t unique_count;
    uint32_t index_count;
    uint32_t foreign_key_count;
    uint32_t check_count;
    uint32_t reserved;
    /* ABI 1.2: where the author declared it; see "Source locations" above */
    const char *source_file;                    /* NULL: not known */
    uint32_t source_line;                       /* 0: not known */
    uint32_t source_reserved;                   /* 0 */
    /* ABI 1.4: see "Renames" below */
    const char *renamed_from;                   /* NULL: not renamed; else this table's previous name in
                                                   the plugin's schema */
} plinth_table;

/* Log levels understood by plinth_host.log. */
typedef enum plinth_log_level {
    PLINTH_LOG_TRACE = 0,
    PLINTH_LOG_DEBUG = 1,
    PLINTH_LOG_INFO = 2,
    PLINTH_LOG_WARN = 3,
    PLINTH_LOG_ERROR = 4
} plinth_log_level;

/* Return value of every lifecycle entry point. */
typedef enum plinth_status {
    PLINTH_OK = 0,
    PLINTH_ERROR = 1
} plinth_status;

/*
 * Database access (ABI 1.1). Every statement is parameterized: values travel as text parameters
 * $1..$n, never spliced into SQL. Values come back as PostgreSQL's text output.
 */

/* The rows of one statement. Owned by the plugin once returned: free it with db_result_free
 * (from any thread). Everything it points to lives exactly as long as the result. */
typedef struct plinth_db_result {
    uint32_t struct_size;            /* sizeof(plinth_db_result) as the host was built */
    uint32_t column_count;
    uint64_t row_count;
    uint64_t affected_rows;          /* rows inserted, updated, deleted or returned; 0 when the command
                                        reports no count (e.g. DDL) */
    const char *const *column_names; /* column_count names */
    const char *const *values;       /* row_count * column_count entries, row after row:
                                        values[row * column_count + column]; NULL is SQL NULL */
} plinth_db_result;

/* Why a database call failed. Owned by the plugin once returned: free it with db_error_free.
 * Its strings live exactly as long as the error and are never NULL. */
typedef struct plinth_db_error {
    uint32_t struct_size;            /* sizeof(plinth_db_error) as the host was built */
    uint32_t reserved;
    const char *sqlstate;            /* five characters, e.g. "23505"; "" for a failure with no
                                        SQLSTATE (no connection free in time, an invalid call) */
    const char *message;             /* the primary message */
    const char *detail;              /* "" when none */
    const char *hint;                /* "" when none */
} plinth_db_error;

/* The lost connection. A database call whose connection broke (the server restarted, was shut
 * down, or lost its primary role in a failover; the network failed) fails with sqlstate
 * PLINTH_DB_CONNECTION_LOST, whatever libpq or the server said (that is in `detail`), and never
 * hangs longer than the server takes to close the connection (TCP keepalives end one to a server
 * that vanished within about a minute). The connection is dropped from the pool; the next call
 * gets a new one, to the new primary once a failover is over (give the database URL every host
 * and target_session_attrs=read-write). What the failed call did is unknown: a statement outside a
 * transaction may have committed; after db_commit the transaction may or may not have committed;
 * any other call in a transaction rolled it back (end it with db_rollback). A plugin may retry
 * what it can tell or make idempotent. A call that cannot reach any server (no connection could
 * be opened) fails with a class 08 sqlstate too ("08001", "08006"): PLINTH_DB_IS_CONNECTION_ERROR
 * tells both. A documented value of the existing field, not a new field: no ABI minor of its own;
 * hosts built before it reported libpq's or the server's own code ("08006", "57P01"). */
#define PLINTH_DB_CONNECTION_LOST "08006"
#define PLINTH_DB_IS_CONNECTION_ERROR(error) \
    ((error) != NULL && (error)->sqlstate[0] == '0' && (error)->sqlstate[1] == '8')

/* An open transaction, bound to one connection of the host's pool until db_commit or db_rollback
 * ends it. Opaque; owned by the host. Calls on one transaction from several threads are run one
 * at a time. A transaction still open when stop returns is rolled back by the host. */
typedef struct plinth_db_tx plinth_db_tx;

/*
 * What the host offers a plugin during its lifecycle. Owned by the host; borrowed by the plugin
 * from the start of init until stop returns. Functions may be called from any thread of the
 * plugin's unless stated otherwise; none of them throws or keeps a pointer the plugin passed.
 * A call after that is a bug of the plugin, but a harmless one: the structure stays readable for
 * the life of the process, and once stop has returned (or the plugin was disabled) every database
 * function fails with the message "plinth has stopped this plugin", log and set_error do nothing,
 * config_get returns NULL, and the two free functions still free.
 * New members are appended; check struct_size before using a member added after 1.0 (see
 * PLINTH_HOST_HAS).
 *
 * The database functions share these rules:
 *  - They return PLINTH_OK or PLINTH_ERROR.
 *  - `error` may be NULL when the caller does not want the details. Otherwise *error is set to NULL
 *    on success and to a new plinth_db_error on failure, which the plugin frees with db_error_free.
 *  - A statement outside a transaction (tx NULL) runs on a pooled connection taken for that call
 *    alone, in its own implicit transaction. Session state does not carry from one call or
 *    transaction to the next: after every transaction, and after a statement that can leave
 *    session state (SET, RESET, LISTEN, PREPARE, DECLARE, DDL such as CREATE TEMP TABLE, DO, CALL,
 *    or one naming TEMP, set_config or a session advisory lock), the host resets the connection
 *    with DISCARD ALL. Plain SELECT, INSERT, UPDATE and DELETE are not followed by a reset, so
 *    session state changed inside a function they call is not undone. Use SET LOCAL inside a
 *    transaction instead of SET.
 *  - When every pooled connection is busy, a call waits for one, for a bounded time, then fails.
 */
typedef struct plinth_host {
    uint32_t struct_size;
    uint32_t abi_minor;               /* the host's PLINTH_ABI_MINOR */
    void *host_data;                  /* opaque to the plugin; pass `host` back to each function */
    const char *plugin_name;          /* this plugin's name, owned by the host */

    /* Writes one line to this plugin's logger. `message` is borrowed for the call. */
    void (*log)(const struct plinth_host *host, uint32_t level, const char *message);

    /* Records why the current lifecycle call failed; call it before returning PLINTH_ERROR.
     * `message` is borrowed for the call; the host keeps a copy. */
    void (*set_error)(const struct plinth_host *host, const char *message);

    /* --- ABI 1.1 --- */

    /* This plugin's configuration value for `key`, or NULL when it is not set. The environment
     * variable PLINTH_<PLUGIN>_<KEY> (names upper-cased, '-' and '.' as '_') overrides the key in
     * the plugin's table of the configuration file. The returned string is owned by the host and
     * stays valid and unchanged until stop returns. */
    const char *(*config_get)(const struct plinth_host *host, const char *key);

    /* Runs one SQL statement with $1..$n bound to params[0..param_count-1] (NULL binds SQL NULL);
     * inside `tx` when it is not NULL. On success *result receives the rows; on failure it is set
     * to NULL. `sql` and `params` are borrowed for the call. */
    uint32_t (*db_query)(const struct plinth_host *host, plinth_db_tx *tx, const char *sql,
                         uint32_t param_count, const char *const *params,
                         plinth_db_result **result, plinth_db_error **error);

    /* Frees a result returned by db_query; NULL is ignored. */
    void (*db_result_free)(const struct plinth_host *host, plinth_db_result *result);

    /* Opens a transaction on a connection taken from the pool. `isolation_level` is NULL for the
     * server's default, or "READ COMMITTED", "REPEATABLE READ" or "SERIALIZABLE". On failure *tx is
     * set to NULL. */
    uint32_t (*db_begin)(const struct plinth_host *host, const char *isolation_level,
                         plinth_db_tx **tx, plinth_db_error **error);

    /* Commits `tx`. Ends it whatever the outcome: `tx` is invalid after the call, and when the
     * commit fails (or the transaction had failed before) everything it did is rolled back. */
    uint32_t (*db_commit)(const struct plinth_host *host, plinth_db_tx *tx, plinth_db_error **error);

    /* Rolls `tx` back and ends it; `tx` is invalid after the call. */
    uint32_t (*db_rollback)(const struct plinth_host *host, plinth_db_tx *tx, plinth_db_error **error);

    /* Frees an error returned by a database function; NULL is ignored. */
    void (*db_error_free)(const struct plinth_host *host, plinth_db_error *error);
} plinth_host;

#define PLINTH_HOST_HAS(host, member) \
    ((host)->struct_size >= offsetof(plinth_host, member) + sizeof((host)->member))

/* Lifecycle entry points; each may be NULL (a missing one succeeds). `state` is the plugin's own
 * pointer: init may set *state, and start/stop receive it back.
 *  - init runs for every plugin in dependency order (after each plugin it requires or whose tables
 *    it references), then start runs in the same order. Both run on the host's main thread and
 *    must return promptly: start launches the plugin's own threads if it needs any.
 *  - stop runs exactly once for every plugin whose init succeeded, even if it was never started,
 *    in reverse order; by the time it returns, the plugin's threads must no longer use the host.
 *    A plugin whose init fails is not stopped: init cleans up after itself. stop has a bounded
 *    time (plinth run --stop-timeout); a plugin still in stop then is abandoned and plinth exits.
 *  - An entry point that returns PLINTH_ERROR should say why with set_error first. */
typedef uint32_t (*plinth_init_fn)(const plinth_host *host, void **state);
typedef uint32_t (*plinth_start_fn)(const plinth_host *host, void *state);
typedef uint32_t (*plinth_stop_fn)(const plinth_host *host, void *state);

/*
 * Upgrade step (ABI 1.4). Called once per change of the plugin's version (the version recorded in
 * plinth's journal differs from the descriptor's), never on a first install, inside the migration's
 * transaction: after the schema changes (DDL) and before the commit, so that the data it changes
 * commits or rolls back with them. Exactly once per change, however many instances start at once.
 *  - `host` is borrowed for the duration of the call only. Its database functions run on the
 *    migration's connection, inside its transaction: db_query with tx NULL runs there directly;
 *    db_begin opens a SAVEPOINT (isolation_level must be NULL), db_commit releases it and
 *    db_rollback rolls back to it. A failed statement outside such a savepoint fails the whole
 *    migration, whatever the step returns. COMMIT, ROLLBACK and other transaction control
 *    statements are refused. log, set_error and config_get work as in init.
 *  - `previous_version` is the version last recorded for this plugin, borrowed for the call.
 *  - Returning PLINTH_ERROR (say why with set_error first) rolls everything back, the schema too.
 *  - By default it runs in a child process forked for it: a crash, exit or hang (past a time
 *    bound) there rolls everything back and is reported naming the plugin.
 * It runs before init and receives no state.
 */
typedef uint32_t (*plinth_upgrade_fn)(const plinth_host *host, const char *previous_version);

typedef struct plinth_plugin_descriptor {
    /* The first three fields never move: the host checks them before reading anything else. */
    uint32_t abi_major;              /* PLINTH_ABI_MAJOR the plugin was built with */
    uint32_t abi_minor;              /* PLINTH_ABI_MINOR the plugin was built with */
    uint32_t struct_size;            /* sizeof(plinth_plugin_descriptor) as the plugin was built */
    uint32_t required_plugin_count;
    const char *name;                /* required: [a-z][a-z0-9_-]*, at most 63 bytes */
    const char *version;             /* required: free text, e.g. "1.2.0" */
    const char *schema;              /* NULL: "public"; the PostgreSQL schema this plugin owns */
    const char *const *required_plugins; /* required_plugin_count names of plugins this one needs */
    const plinth_table *tables;      /* table_count entries */
    plinth_init_fn init;
    plinth_start_fn start;
    plinth_stop_fn stop;
    uint32_t table_count;
    uint32_t reserved;
    /* ABI 1.4 */
    plinth_upgrade_fn upgrade;       /* NULL: no upgrade step; see plinth_upgrade_fn */
} plinth_plugin_descriptor;

/* The one symbol a plugin exports. Returns a descriptor owned by the plugin (see above), or NULL
 * when the plugin could not build it. Must not throw. */
typedef const plinth_plugin_descriptor *(*plinth_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* PLINTH_PLUGIN_H */
