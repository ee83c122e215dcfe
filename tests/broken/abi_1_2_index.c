/* A plugin built against ABI 1.2: its index struct ends where 1.2's did (after source_reserved).
 * Right behind it lies what 1.3's operator classes and options would look like, so a host that
 * read past struct_size would find an operator class where there is none. It must load as before. */
#include <stddef.h>
#include <string.h>
#include <plinth/plinth_plugin.h>

#define INDEX_1_2_SIZE (offsetof(plinth_index, source_reserved) + sizeof(uint32_t))

static const char *const pk[] = {"id"};
static const char *const keys[] = {"label"};
static const char *const bogus[] = {"not_an_opclass"};
static const plinth_column columns[] = {
    {sizeof(plinth_column), PLINTH_COLUMN_NOT_NULL, "id", "uuid", NULL, NULL, 0, 0, NULL},
    {sizeof(plinth_column), 0, "label", "text", NULL, NULL, 0, 0, NULL},
};
/* One 1.2-sized index followed by a fake 1.3 tail. */
static union {
    unsigned char bytes[sizeof(plinth_index)];
    plinth_index aligned;
} index_storage;
static plinth_table table;
static plinth_plugin_descriptor descriptor;

PLINTH_EXPORT const plinth_plugin_descriptor *plinth_plugin_entry_v1(void) {
    plinth_index idx;
    memset(&idx, 0, sizeof idx);
    idx.struct_size = (uint32_t)INDEX_1_2_SIZE;
    idx.name = "labels_label_idx";
    idx.keys = keys;
    idx.key_count = 1;
    idx.opclasses = bogus;  /* past struct_size: must never be read */
    idx.option_count = 7;
    memcpy(index_storage.bytes, &idx, sizeof idx);

    table.struct_size = sizeof(plinth_table);
    table.name = "labels";
    table.column_count = 2;
    table.columns = columns;
    table.primary_key = pk;
    table.primary_key_count = 1;
    table.indexes = &index_storage.aligned;
    table.index_count = 1;

    descriptor.abi_major = 1;
    descriptor.abi_minor = 2;
    descriptor.struct_size = sizeof(plinth_plugin_descriptor);
    descriptor.name = "abi-one-two";
    descriptor.version = "1.2.0";
    descriptor.tables = &table;
    descriptor.table_count = 1;
    return &descriptor;
}
