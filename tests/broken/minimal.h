/* A small valid descriptor in plain C; each broken plugin copies it and breaks one thing. */
#ifndef PLINTH_TEST_MINIMAL_H
#define PLINTH_TEST_MINIMAL_H

#include <plinth/plinth_plugin.h>

static const plinth_column minimal_columns[] = {
    {.struct_size = sizeof(plinth_column), .flags = PLINTH_COLUMN_NOT_NULL, .name = "id", .type = "uuid",
     .default_sql = "gen_random_uuid()"},
    {.struct_size = sizeof(plinth_column), .name = "label", .type = "text"},
};
static const char *const minimal_pk[] = {"id"};

static const plinth_table minimal_tables[] = {{
    .struct_size = sizeof(plinth_table),
    .column_count = 2,
    .name = "widgets",
    .columns = minimal_columns,
    .primary_key = minimal_pk,
    .primary_key_count = 1,
}};

#define MINIMAL_DESCRIPTOR_FIELDS                   \
    .abi_major = PLINTH_ABI_MAJOR,                  \
    .abi_minor = PLINTH_ABI_MINOR,                  \
    .struct_size = sizeof(plinth_plugin_descriptor), \
    .name = "minimal",                              \
    .version = "1.0.0",                             \
    .tables = minimal_tables,                       \
    .table_count = 1

#endif
