#include <doctest/doctest.h>

#include <cstddef>
#include <string>
#include <plinth/plinth_plugin.h>

extern "C" std::size_t plinth_test_c_descriptor_size(void);
extern "C" std::size_t plinth_test_c_table_size(void);
extern "C" std::size_t plinth_test_c_column_size(void);
extern "C" std::size_t plinth_test_c_unique_size(void);
extern "C" std::size_t plinth_test_c_index_size(void);
extern "C" std::size_t plinth_test_c_foreign_key_size(void);
extern "C" std::size_t plinth_test_c_check_size(void);
extern "C" std::size_t plinth_test_c_host_size(void);
extern "C" std::size_t plinth_test_c_db_result_size(void);
extern "C" std::size_t plinth_test_c_db_error_size(void);

TEST_CASE("the C and C++ compilers agree on the ABI layout") {
    CHECK(plinth_test_c_descriptor_size() == sizeof(plinth_plugin_descriptor));
    CHECK(plinth_test_c_table_size() == sizeof(plinth_table));
    CHECK(plinth_test_c_column_size() == sizeof(plinth_column));
    CHECK(plinth_test_c_unique_size() == sizeof(plinth_unique));
    CHECK(plinth_test_c_index_size() == sizeof(plinth_index));
    CHECK(plinth_test_c_foreign_key_size() == sizeof(plinth_foreign_key));
    CHECK(plinth_test_c_check_size() == sizeof(plinth_check));
    CHECK(plinth_test_c_host_size() == sizeof(plinth_host));
    CHECK(plinth_test_c_db_result_size() == sizeof(plinth_db_result));
    CHECK(plinth_test_c_db_error_size() == sizeof(plinth_db_error));
}

TEST_CASE("the descriptor header never moves: version and size come first") {
    CHECK(offsetof(plinth_plugin_descriptor, abi_major) == 0);
    CHECK(offsetof(plinth_plugin_descriptor, abi_minor) == 4);
    CHECK(offsetof(plinth_plugin_descriptor, struct_size) == 8);
    CHECK(std::string(PLINTH_ENTRY_SYMBOL) == "plinth_plugin_entry_v1");
    CHECK(PLINTH_ABI_MAJOR == 1);
}

TEST_CASE("every struct starts with its own size, so arrays can be read with the plugin's stride") {
    CHECK(offsetof(plinth_table, struct_size) == 0);
    CHECK(offsetof(plinth_column, struct_size) == 0);
    CHECK(offsetof(plinth_unique, struct_size) == 0);
    CHECK(offsetof(plinth_index, struct_size) == 0);
    CHECK(offsetof(plinth_foreign_key, struct_size) == 0);
    CHECK(offsetof(plinth_check, struct_size) == 0);
    CHECK(offsetof(plinth_host, struct_size) == 0);
    CHECK(offsetof(plinth_db_result, struct_size) == 0);
    CHECK(offsetof(plinth_db_error, struct_size) == 0);
}

TEST_CASE("PLINTH_HOST_HAS tells which host members a plugin may use") {
    plinth_host host{};
    host.struct_size = offsetof(plinth_host, set_error);
    CHECK(PLINTH_HOST_HAS(&host, log));
    CHECK_FALSE(PLINTH_HOST_HAS(&host, set_error));
    host.struct_size = sizeof(plinth_host);
    CHECK(PLINTH_HOST_HAS(&host, set_error));
}

TEST_CASE("a 1.0 host lacks the 1.1 members: configuration and database access") {
    plinth_host host{};
    host.struct_size = offsetof(plinth_host, config_get);  // sizeof(plinth_host) in ABI 1.0
    CHECK(host.struct_size == 40);
    CHECK(PLINTH_HOST_HAS(&host, set_error));
    CHECK_FALSE(PLINTH_HOST_HAS(&host, config_get));
    CHECK_FALSE(PLINTH_HOST_HAS(&host, db_error_free));
    host.struct_size = sizeof(plinth_host);
    CHECK(PLINTH_HOST_HAS(&host, db_error_free));
}

TEST_CASE("ABI 1.2 appends source locations where each 1.0 struct ended, so the 1.0 sizes stay the minimum") {
    // Where each 1.0 struct ended: the smallest size the loader accepts, unchanged.
    CHECK(offsetof(plinth_table, source_file) == 96);
    CHECK(offsetof(plinth_column, source_file) == 32);
    CHECK(offsetof(plinth_unique, source_file) == 24);
    CHECK(offsetof(plinth_index, source_file) == 48);
    CHECK(offsetof(plinth_foreign_key, source_file) == 56);
    CHECK(offsetof(plinth_check, source_file) == 24);
    // Then the file, the line and explicit padding: 16 bytes, none of them hidden.
#define PLINTH_ADDED_IN_1_2(type) (sizeof(type) - offsetof(type, source_file))
    CHECK(offsetof(plinth_table, renamed_from) - offsetof(plinth_table, source_file) == 16);    // then 1.4's
    CHECK(offsetof(plinth_column, backfill) - offsetof(plinth_column, source_file) == 16);  // then 1.4's fields
    CHECK(PLINTH_ADDED_IN_1_2(plinth_unique) == 16);
    CHECK(offsetof(plinth_index, opclasses) - offsetof(plinth_index, source_file) == 16);  // then 1.3's fields
    CHECK(PLINTH_ADDED_IN_1_2(plinth_foreign_key) == 16);
    CHECK(PLINTH_ADDED_IN_1_2(plinth_check) == 16);
#undef PLINTH_ADDED_IN_1_2
}

TEST_CASE("ABI 1.3 appends operator classes and storage parameters to plinth_index, after its 1.2 location") {
    CHECK(offsetof(plinth_index, opclasses) == offsetof(plinth_index, source_reserved) + 4);
    CHECK(offsetof(plinth_index, opclasses) == 64);
    // Three arrays, the count and explicit padding: 32 bytes, none of them hidden.
    CHECK(sizeof(plinth_index) - offsetof(plinth_index, opclasses) == 32);
    CHECK(sizeof(plinth_index) == 96);
}

TEST_CASE("ABI 1.4 appends a backfill and a USING expression to plinth_column, after its 1.2 location") {
    CHECK(PLINTH_ABI_MINOR >= 4);
    CHECK(offsetof(plinth_column, backfill) == offsetof(plinth_column, source_reserved) + 4);
    CHECK(offsetof(plinth_column, backfill) == 48);
    CHECK(offsetof(plinth_column, using_expression) == 56);
    CHECK(sizeof(plinth_column) == 72);
}

TEST_CASE("ABI 1.4 appends renamed_from to tables and columns and the upgrade step to the descriptor, each at the end") {
    CHECK(PLINTH_ABI_MINOR == 4);
    CHECK(offsetof(plinth_table, renamed_from) == offsetof(plinth_table, source_reserved) + 4);
    CHECK(offsetof(plinth_column, renamed_from) == offsetof(plinth_column, using_expression) + sizeof(void*));
    CHECK(offsetof(plinth_plugin_descriptor, upgrade) == offsetof(plinth_plugin_descriptor, reserved) + 4);
    // One pointer each, none of them hidden padding.
    CHECK(sizeof(plinth_table) - offsetof(plinth_table, renamed_from) == sizeof(void*));
    CHECK(sizeof(plinth_column) - offsetof(plinth_column, renamed_from) == sizeof(void*));
    CHECK(sizeof(plinth_plugin_descriptor) - offsetof(plinth_plugin_descriptor, upgrade) == sizeof(void*));
}
