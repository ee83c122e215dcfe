#include <doctest/doctest.h>

#include <filesystem>

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <plinth/plinth.hpp>

#include "load/loader.hpp"
#include "paths.hpp"

using plinth::test::broken_dir;

namespace {

// Loads one broken plugin and returns the refusal reason ("" when it loaded).
std::string refusal_of(const std::string& file) {
    plinth::model::Plugin plugin;
    plinth::load::Refusal refusal;
    const auto path = broken_dir() / file;
    if (plinth::load::load_file(path, plugin, refusal)) return "";
    CHECK(refusal.file == path.string());
    return refusal.reason;
}

}  // namespace

TEST_CASE("a valid plain-C plugin is deep-copied into the model") {
    plinth::model::Plugin plugin;
    plinth::load::Refusal refusal;
    REQUIRE(plinth::load::load_file(broken_dir() / "minimal_valid.so", plugin, refusal));
    CHECK(plugin.name == "minimal");
    CHECK(plugin.version == "1.0.0");
    CHECK(plugin.schema == "public");
    REQUIRE(plugin.tables.size() == 1);
    const auto& t = plugin.tables[0];
    CHECK(t.qualified_name() == "public.widgets");
    REQUIRE(t.columns.size() == 2);
    CHECK(t.columns[0].name == "id");
    CHECK(t.columns[0].not_null);
    CHECK(t.columns[0].default_sql == "gen_random_uuid()");
    CHECK_FALSE(t.columns[1].default_sql.has_value());
    CHECK(t.primary_key == std::vector<std::string>{"id"});
    CHECK(plugin.lifecycle.library != nullptr);
}

TEST_CASE("the shipped plugins load with every table of the core schema") {
    auto result = plinth::load::load_folder(plinth::test::plugins_dir());
    CHECK(result.refusals.empty());
    REQUIRE(result.plugins.size() == 2);
    CHECK(result.plugins[0].name == "core");
    CHECK(result.plugins[0].tables.size() == 11);
    CHECK(result.plugins[1].name == "project-management");
    CHECK(result.plugins[1].requires_plugins == std::vector<std::string>{"core"});
}

TEST_CASE("files that are not shared objects are refused, not crashed on") {
    CHECK(refusal_of("not_elf.so") == "not a loadable shared object: not an ELF file");
    const auto truncated = refusal_of("truncated.so");
    CHECK(truncated.rfind("not a loadable shared object: ELF file truncated: a loadable segment ends at byte ", 0) == 0);
    CHECK(truncated.find(" of a 600-byte file") != std::string::npos);
}

TEST_CASE("each broken descriptor is refused with its exact reason") {
    CHECK(refusal_of("no_symbol.so") ==
          "not a plinth plugin: symbol plinth_plugin_entry_v1 not found (export it with PLINTH_PLUGIN from plinth/plinth.hpp)");
    CHECK(refusal_of("newer_major.so") == "incompatible plugin: built for plinth ABI major 2, this plinth supports major 1");
    CHECK(refusal_of("newer_minor.so") == "incompatible plugin: built for plinth ABI 1.7, this plinth supports up to 1.4");
    CHECK(refusal_of("wrong_major_field.so") ==
          "incompatible plugin: descriptor says ABI major 2 under the entry symbol of major 1");
    CHECK(refusal_of("small_struct.so") ==
          "incompatible plugin: descriptor struct_size 16 is smaller than 88, the size in plinth ABI 1.0");
    CHECK(refusal_of("null_name.so") == "descriptor has a NULL plugin name");
    CHECK(refusal_of("empty_name.so") == "descriptor has an empty plugin name");
    CHECK(refusal_of("null_descriptor.so") ==
          "plinth_plugin_entry_v1 returned NULL (the plugin could not build its descriptor)");
    CHECK(refusal_of("throwing_describe.so") ==
          "plinth_plugin_entry_v1 returned NULL (the plugin could not build its descriptor)");
    CHECK(refusal_of("null_tables.so") == "plugin \"minimal\": tables is NULL but its count is 3");
    CHECK(refusal_of("small_column_struct.so") ==
          "plugin \"minimal\": table \"widgets\" columns struct_size 8 is smaller than 32, the size in plinth ABI 1.0");
    CHECK(refusal_of("null_column_name.so") == "plugin \"minimal\": table \"widgets\" primary_key[0] is NULL");
    CHECK(refusal_of("huge_stride.so") ==
          "plugin \"minimal\": table \"widgets\" columns struct_size 1073741824 is larger than " +
              std::to_string(64 * sizeof(plinth_column)) + ", 64 times the size in this plinth (corrupt descriptor?)");
    CHECK(refusal_of("data_entry.so") ==
          "not a plinth plugin: symbol plinth_plugin_entry_v1 is a data object, not a function (export it with "
          "PLINTH_PLUGIN from plinth/plinth.hpp)");
    CHECK(refusal_of("unknown_fk_action.so") ==
          "plugin \"minimal\": table \"widgets\" foreign_keys[0].on_delete has unknown foreign key action 9");
}

TEST_CASE("a folder is loaded in sorted order, refusals and plugins apart") {
    auto result = plinth::load::load_folder(broken_dir());
    CHECK(result.refusals.size() == 17);
    for (std::size_t i = 1; i < result.refusals.size(); ++i) CHECK(result.refusals[i - 1].file < result.refusals[i].file);
    for (std::size_t i = 1; i < result.plugins.size(); ++i) CHECK(result.plugins[i - 1].file < result.plugins[i].file);
}

TEST_CASE("a missing plugins folder is an error naming it") {
    CHECK_THROWS_WITH(plinth::load::load_folder("/nonexistent/plugins"),
                      "plugins folder /nonexistent/plugins does not exist or is not a folder");
}

TEST_CASE("one file reached under two names is loaded once, and the second name is refused naming the first") {
    const auto folder = std::filesystem::temp_directory_path() / ("plinth-links-" + std::to_string(::getpid()));
    std::filesystem::remove_all(folder);
    std::filesystem::create_directories(folder);
    std::filesystem::copy_file(broken_dir() / "minimal_valid.so", folder / "a.so");
    std::filesystem::create_symlink(folder / "a.so", folder / "b.so");
    std::filesystem::create_hard_link(folder / "a.so", folder / "c.so");
    const auto result = plinth::load::load_folder(folder);
    REQUIRE(result.plugins.size() == 1);
    CHECK(result.plugins[0].file == (folder / "a.so").string());
    REQUIRE(result.refusals.size() == 2);
    for (const auto& r : result.refusals)
        CHECK(r.reason == "the same file as " + (folder / "a.so").string() +
                              " (a symbolic or hard link to it): loaded once, as a.so");

    // Loaded again later (another command in the same process): the same library, never reloaded.
    const auto again = plinth::load::load_folder(folder);
    REQUIRE(again.plugins.size() == 1);
    CHECK(again.plugins[0].lifecycle.library == result.plugins[0].lifecycle.library);
    std::filesystem::remove_all(folder);
}

TEST_CASE("an SDK plugin's declarations carry where they were written (ABI 1.2)") {
    plinth::model::Plugin plugin;
    plinth::load::Refusal refusal;
    REQUIRE(plinth::load::load_file(broken_dir() / "invalid_fk_type.so", plugin, refusal));
    const auto& t = plugin.tables.at(0);
    REQUIRE(t.source.has_value());
    CHECK(t.source->file.ends_with("tests/broken/invalid_fk_type.cpp"));
    CHECK(t.source->line == plinth::test::marked_line("invalid_fk_type.cpp", "@table"));
    CHECK(t.source->text() == "invalid_fk_type.cpp:" + std::to_string(t.source->line));
    REQUIRE(t.columns.at(1).source.has_value());
    CHECK(t.columns[1].source->line == plinth::test::marked_line("invalid_fk_type.cpp", "@fk"));
    REQUIRE(t.foreign_keys.at(0).source.has_value());
    CHECK(t.foreign_keys[0].source->line == plinth::test::marked_line("invalid_fk_type.cpp", "@fk"));
}

TEST_CASE("a plain-C plugin that leaves source_file NULL has no locations") {
    plinth::model::Plugin plugin;
    plinth::load::Refusal refusal;
    REQUIRE(plinth::load::load_file(broken_dir() / "minimal_valid.so", plugin, refusal));
    CHECK_FALSE(plugin.tables.at(0).source.has_value());
    CHECK_FALSE(plugin.tables[0].columns.at(0).source.has_value());
}

TEST_CASE("a plugin built against ABI 1.1 loads, and nothing is read past its structs' ends") {
    plinth::model::Plugin plugin;
    plinth::load::Refusal refusal;
    REQUIRE_MESSAGE(plinth::load::load_file(broken_dir() / "abi_1_1.so", plugin, refusal), refusal.message());
    REQUIRE(plugin.tables.size() == 1);
    const auto& t = plugin.tables[0];
    // Each struct is followed by a fake location ("trap.c", 99): reading it would fill `source`.
    CHECK_FALSE(t.source.has_value());
    REQUIRE(t.columns.size() == 1);
    CHECK_FALSE(t.columns[0].source.has_value());
    REQUIRE(t.uniques.size() == 1);
    CHECK_FALSE(t.uniques[0].source.has_value());
    REQUIRE(t.indexes.size() == 1);
    CHECK_FALSE(t.indexes[0].source.has_value());
    REQUIRE(t.foreign_keys.size() == 1);
    CHECK_FALSE(t.foreign_keys[0].source.has_value());
    REQUIRE(t.checks.size() == 1);
    CHECK(t.checks[0].expression == "id IS NOT NULL");
    CHECK_FALSE(t.checks[0].source.has_value());
}

TEST_CASE("an entry named *.so that is no regular file is refused by name, and the scan goes on") {
    const auto folder = std::filesystem::temp_directory_path() / ("plinth-odd-" + std::to_string(::getpid()));
    std::filesystem::remove_all(folder);
    std::filesystem::create_directories(folder / "folder.so");
    std::filesystem::copy_file(broken_dir() / "minimal_valid.so", folder / "good.so");
    std::filesystem::create_symlink(folder / "missing.so", folder / "dangling.so");
    std::filesystem::create_symlink(folder / "loop-b.so", folder / "loop-a.so");
    std::filesystem::create_symlink(folder / "loop-a.so", folder / "loop-b.so");
    REQUIRE(::mkfifo((folder / "fifo.so").c_str(), 0600) == 0);
    const auto result = plinth::load::load_folder(folder);
    REQUIRE(result.plugins.size() == 1);
    CHECK(result.plugins[0].file == (folder / "good.so").string());
    std::vector<std::string> refusals;
    for (const auto& r : result.refusals) refusals.push_back(r.message());
    const auto at = [&](const std::string& name) { return (folder / name).string() + ": "; };
    CHECK(refusals == std::vector<std::string>{
        at("dangling.so") + "a symbolic link to " + (folder / "missing.so").string() + ", which does not exist",
        at("fifo.so") + "a FIFO, not a shared object",
        at("folder.so") + "a folder, not a shared object",
        at("loop-a.so") + "a symbolic link that never ends (a loop of links)",
        at("loop-b.so") + "a symbolic link that never ends (a loop of links)",
    });
    std::filesystem::remove_all(folder);
}

TEST_CASE("a plugin built against ABI 1.3 loads without renames or an upgrade step, whatever lies past its structs") {
    plinth::model::Plugin plugin;
    plinth::load::Refusal refusal;
    REQUIRE_MESSAGE(plinth::load::load_file(broken_dir() / "abi_1_3.so", plugin, refusal), refusal.message());
    REQUIRE(plugin.tables.size() == 1);
    const auto& t = plugin.tables[0];
    CHECK(t.name == "labels");
    CHECK_FALSE(t.renamed_from.has_value());  // "old_labels" lies behind the 1.3-sized table
    REQUIRE(t.columns.size() == 2);
    CHECK(t.columns[1].name == "label");
    CHECK_FALSE(t.columns[0].renamed_from.has_value());
    CHECK_FALSE(t.columns[1].renamed_from.has_value());  // "old_id" lies behind it
    CHECK((plugin.lifecycle.upgrade == nullptr));  // a function lies behind the descriptor
}

TEST_CASE("an SDK plugin's renames and upgrade step reach the model (ABI 1.4)") {
    plinth::model::Plugin plugin;
    plinth::load::Refusal refusal;
    REQUIRE(plinth::load::load_file(broken_dir() / "invalid_rename_taken.so", plugin, refusal));
    CHECK(plugin.tables.at(1).renamed_from == "widgets");
    CHECK(plugin.tables.at(0).columns.at(2).renamed_from == "label");
    CHECK_FALSE(plugin.tables.at(0).columns.at(1).renamed_from.has_value());
    CHECK((plugin.lifecycle.upgrade == nullptr));
}

// The loader names where a bad value lies only when it refuses one (the context is built lazily):
// these descriptors, built in memory, check that the name still points at the right field, in a
// named table, in a table whose name is empty, and several levels down.
TEST_CASE("a refusal names the field it is about, however deep") {
    const std::string huge(1024 * 1024 + 1, 'x');  // one byte past the 1 MiB a string may have
    const char* keys[] = {"id", "code"};
    const char* opclasses[] = {nullptr, huge.c_str()};
    plinth_column columns[2]{};
    for (auto& c : columns) c.struct_size = sizeof(plinth_column);
    columns[0].name = "id";
    columns[0].type = "uuid";
    columns[1].name = "code";
    columns[1].type = "text";
    plinth_index index{};
    index.struct_size = sizeof(plinth_index);
    index.keys = keys;
    index.key_count = 2;
    plinth_table tables[2]{};
    for (auto& t : tables) {
        t.struct_size = sizeof(plinth_table);
        t.columns = columns;
        t.column_count = 2;
    }
    tables[0].name = "widgets";
    tables[1].name = "";
    tables[1].indexes = &index;
    tables[1].index_count = 1;
    plinth_plugin_descriptor d{};
    d.abi_major = PLINTH_ABI_MAJOR;
    d.abi_minor = PLINTH_ABI_MINOR;
    d.struct_size = sizeof(plinth_plugin_descriptor);
    d.name = "deep";
    d.version = "1.0.0";
    d.tables = tables;
    d.table_count = 2;
    const auto refusal_for = [&] {
        plinth::model::Plugin plugin;
        plinth::load::Refusal refusal;
        CHECK_FALSE(plinth::load::copy_plugin(d, "deep.so", plugin, refusal));
        CHECK(refusal.file == "deep.so");
        return refusal.reason;
    };

    columns[1].type = huge.c_str();
    CHECK(refusal_for() == "plugin \"deep\": table \"widgets\" columns[1].type is longer than 1 MiB (not NUL-terminated?)");
    columns[1].type = "text";
    columns[1].default_sql = huge.c_str();
    CHECK(refusal_for() ==
          "plugin \"deep\": table \"widgets\" columns[1].default_sql is longer than 1 MiB (not NUL-terminated?)");
    columns[1].default_sql = nullptr;
    // The second table has no name: its place in the array names it.
    index.opclasses = opclasses;
    CHECK(refusal_for() ==
          "plugin \"deep\": tables[1] indexes[0].opclasses[1] is longer than 1 MiB (not NUL-terminated?)");
    index.opclasses = nullptr;
    keys[1] = nullptr;
    CHECK(refusal_for() == "plugin \"deep\": tables[1] indexes[0].keys[1] is NULL");
    keys[1] = "code";
    tables[1].name = huge.c_str();
    CHECK(refusal_for() == "plugin \"deep\": tables[1].name is longer than 1 MiB (not NUL-terminated?)");
    tables[1].name = "gadgets";
    plinth::model::Plugin plugin;
    plinth::load::Refusal refusal;
    REQUIRE(plinth::load::copy_plugin(d, "deep.so", plugin, refusal));
    CHECK(plugin.tables.at(1).indexes.at(0).keys == std::vector<std::string>{"id", "code"});
}

namespace {

// A descriptor with one of everything, built by the SDK, and mutable copies of its arrays.
struct DigestFixture {
    DigestFixture()
        : built([] {
              using namespace plinth::columns;
              plinth::plugin p("digest", "1.0.0");
              p.schema("d").requires_plugin("core");
              p.table(plinth::table("items", {uuid("id").primary_key().default_random(), text("code").not_null(),
                                              integer("n").default_value(1).backfill("0"),
                                              uuid("parent").references("items")})
                          .unique({"code"})
                          .add(plinth::index({"code"}).where("n > 0").with("fillfactor", 70))
                          .check("n_check", "n >= 0"));
              return p;
          }()),
          descriptor(*built.descriptor()),
          tables(descriptor.tables, descriptor.tables + descriptor.table_count),
          columns(tables[0].columns, tables[0].columns + tables[0].column_count),
          indexes(tables[0].indexes, tables[0].indexes + tables[0].index_count),
          fks(tables[0].foreign_keys, tables[0].foreign_keys + tables[0].foreign_key_count),
          checks(tables[0].checks, tables[0].checks + tables[0].check_count) {
        descriptor.tables = tables.data();
        tables[0].columns = columns.data();
        tables[0].indexes = indexes.data();
        tables[0].foreign_keys = fks.data();
        tables[0].checks = checks.data();
    }
    std::optional<std::uint64_t> digest() const { return plinth::load::descriptor_digest(descriptor); }

    plinth::built_plugin built;
    plinth_plugin_descriptor descriptor;
    std::vector<plinth_table> tables;
    std::vector<plinth_column> columns;
    std::vector<plinth_index> indexes;
    std::vector<plinth_foreign_key> fks;
    std::vector<plinth_check> checks;
};

std::uint32_t digest_test_upgrade(const plinth_host*, const char*) { return 0; }

}  // namespace

TEST_CASE("the descriptor digest changes with every value the descriptor holds, and is the one the copy records") {
    DigestFixture base;
    const auto digest = base.digest();
    REQUIRE(digest);
    plinth::model::Plugin copied;
    plinth::load::Refusal refusal;
    REQUIRE(plinth::load::copy_plugin(base.descriptor, "digest.so", copied, refusal));
    CHECK(copied.digest == digest);

    using Change = void (*)(DigestFixture&);
    const std::pair<const char*, Change> changes[] = {
        {"name", [](DigestFixture& f) { f.descriptor.name = "digest2"; }},
        {"version", [](DigestFixture& f) { f.descriptor.version = "1.0.1"; }},
        {"schema", [](DigestFixture& f) { f.descriptor.schema = nullptr; }},
        {"requires", [](DigestFixture& f) { f.descriptor.required_plugin_count = 0; }},
        {"upgrade step", [](DigestFixture& f) { f.descriptor.upgrade = &digest_test_upgrade; }},
        {"table name", [](DigestFixture& f) { f.tables[0].name = "things"; }},
        {"table renamed_from", [](DigestFixture& f) { f.tables[0].renamed_from = "old"; }},
        {"column type", [](DigestFixture& f) { f.columns[1].type = "varchar"; }},
        {"column default", [](DigestFixture& f) { f.columns[1].default_sql = "'x'"; }},
        {"column not null", [](DigestFixture& f) { f.columns[1].flags = 0; }},
        {"column backfill", [](DigestFixture& f) { f.columns[2].backfill = "1"; }},
        {"column using", [](DigestFixture& f) { f.columns[2].using_expression = "n::int"; }},
        {"column renamed_from", [](DigestFixture& f) { f.columns[1].renamed_from = "old"; }},
        {"column source line", [](DigestFixture& f) { f.columns[1].source_line += 1; }},
        {"a column fewer", [](DigestFixture& f) { f.tables[0].column_count -= 1; }},
        {"primary key name", [](DigestFixture& f) { f.tables[0].primary_key_name = "pk"; }},
        {"unique", [](DigestFixture& f) { f.tables[0].unique_count = 0; }},
        {"index flags", [](DigestFixture& f) { f.indexes[0].flags = PLINTH_INDEX_UNIQUE; }},
        {"index method", [](DigestFixture& f) { f.indexes[0].method = "hash"; }},
        {"index predicate", [](DigestFixture& f) { f.indexes[0].predicate = "n > 1"; }},
        {"index option", [](DigestFixture& f) { f.indexes[0].option_count = 0; }},
        {"foreign key table", [](DigestFixture& f) { f.fks[0].ref_table = "others"; }},
        {"foreign key action", [](DigestFixture& f) { f.fks[0].on_delete = PLINTH_FK_CASCADE; }},
        {"check", [](DigestFixture& f) { f.checks[0].expression = "n > 0"; }},
        {"a value moved between neighbours", [](DigestFixture& f) {
             f.checks[0].name = "n_checkn >= 0";
             f.checks[0].expression = "";
         }},
    };
    for (const auto& change : changes) {
        DigestFixture changed;
        change.second(changed);
        CHECK_MESSAGE(changed.digest() != digest, change.first);
    }
    DigestFixture broken;
    broken.tables[0].columns = nullptr;
    CHECK_FALSE(broken.digest());
    CHECK_FALSE(plinth::load::copy_plugin(broken.descriptor, "digest.so", copied, refusal));
}

TEST_CASE("the descriptor digest reads a string only up to its end, and hashes it the same wherever it lies") {
    // Two pages, the second inaccessible: a string ending on the last byte of the first cannot be
    // read past its end without a crash (the digest reads short strings 32 bytes at a time).
    const long page = ::sysconf(_SC_PAGESIZE);
    void* mapped = ::mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(mapped != MAP_FAILED);
    auto* pages = static_cast<char*>(mapped);
    REQUIRE(::mprotect(pages + page, page, PROT_NONE) == 0);
    const std::string text(70, 'x');
    for (std::size_t length = 0; length <= text.size(); ++length) {
        CAPTURE(length);
        const std::string value = text.substr(0, length);
        // At the page's end (the NUL its last byte), in the middle of the page, and in a string object.
        char* at_end = pages + page - static_cast<long>(length) - 1;
        at_end[value.copy(at_end, length)] = '\0';
        char* inside = pages + 100;
        inside[value.copy(inside, length)] = '\0';
        DigestFixture base;
        base.checks[0].expression = value.c_str();
        const auto expected = base.digest();
        REQUIRE(expected);
        for (const char* where : {static_cast<const char*>(at_end), static_cast<const char*>(inside)}) {
            DigestFixture placed;
            placed.checks[0].expression = where;
            CHECK(placed.digest() == expected);
        }
        if (length > 0) {
            DigestFixture shorter;
            shorter.checks[0].expression = at_end + 1;
            CHECK(shorter.digest() != expected);
        }
    }
    ::munmap(mapped, 2 * page);
}
