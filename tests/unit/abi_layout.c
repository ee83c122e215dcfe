/* Pins the ABI v1 layout (LP64) in C: an accidental change to plinth_plugin.h fails the build.
 * Appending a member at the end of a struct changes only its size; update the size here then. */
#include <stddef.h>
#include <plinth/plinth_plugin.h>

#define PIN(type, member, offset) _Static_assert(offsetof(type, member) == (offset), #type "." #member " moved")
#define SIZE(type, size) _Static_assert(sizeof(type) == (size), "sizeof(" #type ") changed")

#if defined(__LP64__)
PIN(plinth_plugin_descriptor, abi_major, 0);
PIN(plinth_plugin_descriptor, abi_minor, 4);
PIN(plinth_plugin_descriptor, struct_size, 8);
PIN(plinth_plugin_descriptor, required_plugin_count, 12);
PIN(plinth_plugin_descriptor, name, 16);
PIN(plinth_plugin_descriptor, version, 24);
PIN(plinth_plugin_descriptor, schema, 32);
PIN(plinth_plugin_descriptor, required_plugins, 40);
PIN(plinth_plugin_descriptor, tables, 48);
PIN(plinth_plugin_descriptor, init, 56);
PIN(plinth_plugin_descriptor, start, 64);
PIN(plinth_plugin_descriptor, stop, 72);
PIN(plinth_plugin_descriptor, table_count, 80);
/* 1.4 */
PIN(plinth_plugin_descriptor, upgrade, 88);
SIZE(plinth_plugin_descriptor, 96);

PIN(plinth_table, struct_size, 0);
PIN(plinth_table, column_count, 4);
PIN(plinth_table, name, 8);
PIN(plinth_table, columns, 16);
PIN(plinth_table, primary_key, 24);
PIN(plinth_table, primary_key_name, 32);
PIN(plinth_table, uniques, 40);
PIN(plinth_table, indexes, 48);
PIN(plinth_table, foreign_keys, 56);
PIN(plinth_table, checks, 64);
PIN(plinth_table, primary_key_count, 72);
PIN(plinth_table, unique_count, 76);
PIN(plinth_table, index_count, 80);
PIN(plinth_table, foreign_key_count, 84);
PIN(plinth_table, check_count, 88);
/* 1.2 */
PIN(plinth_table, source_file, 96);
PIN(plinth_table, source_line, 104);
PIN(plinth_table, source_reserved, 108);
/* 1.4 */
PIN(plinth_table, renamed_from, 112);
SIZE(plinth_table, 120);

PIN(plinth_column, struct_size, 0);
PIN(plinth_column, flags, 4);
PIN(plinth_column, name, 8);
PIN(plinth_column, type, 16);
PIN(plinth_column, default_sql, 24);
/* 1.2 */
PIN(plinth_column, source_file, 32);
PIN(plinth_column, source_line, 40);
PIN(plinth_column, source_reserved, 44);
/* 1.4 */
PIN(plinth_column, backfill, 48);
PIN(plinth_column, using_expression, 56);
PIN(plinth_column, renamed_from, 64);
SIZE(plinth_column, 72);

PIN(plinth_unique, struct_size, 0);
PIN(plinth_unique, column_count, 4);
PIN(plinth_unique, name, 8);
PIN(plinth_unique, columns, 16);
/* 1.2 */
PIN(plinth_unique, source_file, 24);
PIN(plinth_unique, source_line, 32);
PIN(plinth_unique, source_reserved, 36);
SIZE(plinth_unique, 40);

PIN(plinth_index, struct_size, 0);
PIN(plinth_index, flags, 4);
PIN(plinth_index, name, 8);
PIN(plinth_index, method, 16);
PIN(plinth_index, keys, 24);
PIN(plinth_index, predicate, 32);
PIN(plinth_index, key_count, 40);
/* 1.2 */
PIN(plinth_index, source_file, 48);
PIN(plinth_index, source_line, 56);
PIN(plinth_index, source_reserved, 60);
/* 1.3 */
PIN(plinth_index, opclasses, 64);
PIN(plinth_index, option_names, 72);
PIN(plinth_index, option_values, 80);
PIN(plinth_index, option_count, 88);
PIN(plinth_index, options_reserved, 92);
SIZE(plinth_index, 96);

PIN(plinth_foreign_key, struct_size, 0);
PIN(plinth_foreign_key, column_count, 4);
PIN(plinth_foreign_key, name, 8);
PIN(plinth_foreign_key, columns, 16);
PIN(plinth_foreign_key, ref_schema, 24);
PIN(plinth_foreign_key, ref_table, 32);
PIN(plinth_foreign_key, ref_columns, 40);
PIN(plinth_foreign_key, on_delete, 48);
PIN(plinth_foreign_key, on_update, 52);
/* 1.2 */
PIN(plinth_foreign_key, source_file, 56);
PIN(plinth_foreign_key, source_line, 64);
PIN(plinth_foreign_key, source_reserved, 68);
SIZE(plinth_foreign_key, 72);

PIN(plinth_check, struct_size, 0);
PIN(plinth_check, name, 8);
PIN(plinth_check, expression, 16);
/* 1.2 */
PIN(plinth_check, source_file, 24);
PIN(plinth_check, source_line, 32);
PIN(plinth_check, source_reserved, 36);
SIZE(plinth_check, 40);

PIN(plinth_host, struct_size, 0);
PIN(plinth_host, abi_minor, 4);
PIN(plinth_host, host_data, 8);
PIN(plinth_host, plugin_name, 16);
PIN(plinth_host, log, 24);
PIN(plinth_host, set_error, 32);
/* 1.1 */
PIN(plinth_host, config_get, 40);
PIN(plinth_host, db_query, 48);
PIN(plinth_host, db_result_free, 56);
PIN(plinth_host, db_begin, 64);
PIN(plinth_host, db_commit, 72);
PIN(plinth_host, db_rollback, 80);
PIN(plinth_host, db_error_free, 88);
SIZE(plinth_host, 96);

PIN(plinth_db_result, struct_size, 0);
PIN(plinth_db_result, column_count, 4);
PIN(plinth_db_result, row_count, 8);
PIN(plinth_db_result, affected_rows, 16);
PIN(plinth_db_result, column_names, 24);
PIN(plinth_db_result, values, 32);
SIZE(plinth_db_result, 40);

PIN(plinth_db_error, struct_size, 0);
PIN(plinth_db_error, sqlstate, 8);
PIN(plinth_db_error, message, 16);
PIN(plinth_db_error, detail, 24);
PIN(plinth_db_error, hint, 32);
SIZE(plinth_db_error, 40);
#endif

/* The same numbers, for the doctest case that reports them. */
size_t plinth_test_c_descriptor_size(void) { return sizeof(plinth_plugin_descriptor); }
size_t plinth_test_c_table_size(void) { return sizeof(plinth_table); }
size_t plinth_test_c_column_size(void) { return sizeof(plinth_column); }
size_t plinth_test_c_unique_size(void) { return sizeof(plinth_unique); }
size_t plinth_test_c_index_size(void) { return sizeof(plinth_index); }
size_t plinth_test_c_foreign_key_size(void) { return sizeof(plinth_foreign_key); }
size_t plinth_test_c_check_size(void) { return sizeof(plinth_check); }
size_t plinth_test_c_host_size(void) { return sizeof(plinth_host); }
size_t plinth_test_c_db_result_size(void) { return sizeof(plinth_db_result); }
size_t plinth_test_c_db_error_size(void) { return sizeof(plinth_db_error); }
