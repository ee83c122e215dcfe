/* A plugin built against ABI 1.3: its descriptor, table and column structs end where 1.3's did.
 * Right behind each lies what a 1.4 renamed_from or upgrade step would look like, so a host that
 * read past struct_size would rename a table or call a function that is not there. It must load as
 * before: no rename, no upgrade step. */
#include <stddef.h>
#include <string.h>
#include <plinth/plinth_plugin.h>

#define COLUMN_1_3_SIZE offsetof(plinth_column, renamed_from)
#define TABLE_1_3_SIZE offsetof(plinth_table, renamed_from)
#define DESCRIPTOR_1_3_SIZE offsetof(plinth_plugin_descriptor, upgrade)

static const char *const pk[] = {"id"};
static union {
    unsigned char bytes[2 * sizeof(plinth_column)];
    plinth_column aligned;
} column_storage;
static union {
    unsigned char bytes[sizeof(plinth_table)];
    plinth_table aligned;
} table_storage;
static union {
    unsigned char bytes[sizeof(plinth_plugin_descriptor)];
    plinth_plugin_descriptor aligned;
} descriptor_storage;

static uint32_t never_called(const plinth_host *host, const char *previous_version) {
    (void)host;
    (void)previous_version;
    return PLINTH_ERROR;
}

PLINTH_EXPORT const plinth_plugin_descriptor *plinth_plugin_entry_v1(void) {
    plinth_column c;
    memset(&c, 0, sizeof c);
    c.struct_size = (uint32_t)COLUMN_1_3_SIZE;
    c.flags = PLINTH_COLUMN_NOT_NULL;
    c.name = "id";
    c.type = "uuid";
    c.renamed_from = "old_id"; /* past struct_size: must never be read */
    memcpy(column_storage.bytes, &c, sizeof c);
    c.flags = 0;
    c.name = "label";
    c.type = "text";
    memcpy(column_storage.bytes + COLUMN_1_3_SIZE, &c, sizeof c); /* its bait lies right behind it */

    plinth_table t;
    memset(&t, 0, sizeof t);
    t.struct_size = (uint32_t)TABLE_1_3_SIZE;
    t.name = "labels";
    t.column_count = 2;
    t.columns = &column_storage.aligned;
    t.primary_key = pk;
    t.primary_key_count = 1;
    t.renamed_from = "old_labels"; /* past struct_size */
    memcpy(table_storage.bytes, &t, sizeof t);

    plinth_plugin_descriptor d;
    memset(&d, 0, sizeof d);
    d.abi_major = 1;
    d.abi_minor = 3;
    d.struct_size = (uint32_t)DESCRIPTOR_1_3_SIZE;
    d.name = "abi-one-three";
    d.version = "1.3.0";
    d.tables = &table_storage.aligned;
    d.table_count = 1;
    d.upgrade = never_called; /* past struct_size */
    memcpy(descriptor_storage.bytes, &d, sizeof d);
    return &descriptor_storage.aligned;
}
