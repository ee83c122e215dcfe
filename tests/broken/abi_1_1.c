/* A plugin built against the ABI 1.1 header, before source locations: each struct ends where it
 * ended in 1.0. Right behind each one lies what a 1.2 source location would look like, so a host
 * that read past struct_size would report "trap.c:99". It must load, with no location at all, and
 * its one problem (an index on a missing column) must read as it did before 1.2. */
#include <plinth/plinth_plugin.h>

/* Each array has one element: its stride (the struct_size) is then never used to find a next one. */
#define TRAP const char *trap_file; uint32_t trap_line; uint32_t trap_reserved
#define TRAP_VALUES .trap_file = "trap.c", .trap_line = 99
#define SIZE_1_1(type) offsetof(type, trap_file)

typedef struct { uint32_t struct_size, flags; const char *name, *type, *default_sql; TRAP; } column_1_1;
typedef struct { uint32_t struct_size, column_count; const char *name; const char *const *columns; TRAP; } unique_1_1;
typedef struct {
    uint32_t struct_size, flags;
    const char *name, *method;
    const char *const *keys;
    const char *predicate;
    uint32_t key_count, reserved;
    TRAP;
} index_1_1;
typedef struct {
    uint32_t struct_size, column_count;
    const char *name;
    const char *const *columns;
    const char *ref_schema, *ref_table;
    const char *const *ref_columns;
    uint32_t on_delete, on_update;
    TRAP;
} foreign_key_1_1;
typedef struct { uint32_t struct_size, reserved; const char *name, *expression; TRAP; } check_1_1;
typedef struct {
    uint32_t struct_size, column_count;
    const char *name;
    const column_1_1 *columns;
    const char *const *primary_key;
    const char *primary_key_name;
    const unique_1_1 *uniques;
    const index_1_1 *indexes;
    const foreign_key_1_1 *foreign_keys;
    const check_1_1 *checks;
    uint32_t primary_key_count, unique_count, index_count, foreign_key_count, check_count, reserved;
    TRAP;
} table_1_1;

static const char *const id[] = {"id"};
static const char *const colour[] = {"colour"};
static const column_1_1 columns[] = {{.struct_size = SIZE_1_1(column_1_1), .name = "id", .type = "uuid", TRAP_VALUES}};
static const unique_1_1 uniques[] = {{.struct_size = SIZE_1_1(unique_1_1), .column_count = 1, .columns = id, TRAP_VALUES}};
static const index_1_1 indexes[] = {{.struct_size = SIZE_1_1(index_1_1), .keys = colour, .key_count = 1, TRAP_VALUES}};
static const foreign_key_1_1 foreign_keys[] = {{.struct_size = SIZE_1_1(foreign_key_1_1), .column_count = 1,
                                                .columns = id, .ref_table = "widgets", TRAP_VALUES}};
static const check_1_1 checks[] = {{.struct_size = SIZE_1_1(check_1_1), .name = "widgets_id_check",
                                    .expression = "id IS NOT NULL", TRAP_VALUES}};
static const table_1_1 tables[] = {{
    .struct_size = SIZE_1_1(table_1_1), .column_count = 1, .name = "widgets", .columns = columns,
    .primary_key = id, .primary_key_count = 1, .uniques = uniques, .unique_count = 1, .indexes = indexes,
    .index_count = 1, .foreign_keys = foreign_keys, .foreign_key_count = 1, .checks = checks, .check_count = 1,
    TRAP_VALUES,
}};
static const plinth_plugin_descriptor descriptor = {
    .abi_major = 1, .abi_minor = 1, .struct_size = sizeof(plinth_plugin_descriptor), .name = "abi-1-1",
    .version = "1.0.0", .tables = (const plinth_table *)tables, .table_count = 1,
};
PLINTH_EXPORT const plinth_plugin_descriptor *plinth_plugin_entry_v1(void) { return &descriptor; }
