/* A plugin built against ABI 1.3: its columns end where 1.3's did (after source_reserved). Right
 * behind each lies what 1.4's backfill and USING expression would look like, so a host that read
 * past struct_size would find a backfill where there is none. It must load as before. */
#include <stddef.h>
#include <string.h>
#include <plinth/plinth_plugin.h>

#define COLUMN_1_3_SIZE (offsetof(plinth_column, source_reserved) + sizeof(uint32_t))

static const char *const pk[] = {"id"};
/* Two 1.3-sized columns, each followed by a fake 1.4 tail. */
static union {
    unsigned char bytes[2 * sizeof(plinth_column)];
    plinth_column aligned;
} column_storage;
static plinth_table table;
static plinth_plugin_descriptor descriptor;

PLINTH_EXPORT const plinth_plugin_descriptor *plinth_plugin_entry_v1(void) {
    plinth_column c;
    const char *names[] = {"id", "label"};
    const char *types[] = {"uuid", "text"};
    for (int i = 0; i < 2; ++i) {
        memset(&c, 0, sizeof c);
        c.struct_size = (uint32_t)COLUMN_1_3_SIZE;
        c.flags = PLINTH_COLUMN_NOT_NULL;
        c.name = names[i];
        c.type = types[i];
        c.backfill = "1 / 0";            /* past struct_size: must never be read */
        c.using_expression = "garbage";  /* likewise */
        memcpy(column_storage.bytes + (size_t)i * COLUMN_1_3_SIZE, &c, sizeof c);
    }

    table.struct_size = sizeof(plinth_table);
    table.name = "labels";
    table.column_count = 2;
    table.columns = &column_storage.aligned;
    table.primary_key = pk;
    table.primary_key_count = 1;

    descriptor.abi_major = 1;
    descriptor.abi_minor = 3;
    descriptor.struct_size = sizeof(plinth_plugin_descriptor);
    descriptor.name = "abi-one-three";
    descriptor.version = "1.3.0";
    descriptor.tables = &table;
    descriptor.table_count = 1;
    return &descriptor;
}
