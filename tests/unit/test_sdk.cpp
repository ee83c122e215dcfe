#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <plinth/plinth.hpp>

using namespace plinth::columns;

namespace {

plinth::plugin sample() {
    return plinth::plugin("sample", "2.0.0")
        .schema("crm")
        .requires_plugin("core")
        .table(plinth::table("accounts", {
            uuid("id").primary_key().default_random(),
            uuid("agent_id").not_null().references("public.agents", "id", plinth::fk_action::cascade),
            text("status").default_value("it's active"),
            boolean("enabled").default_value(true),
            integer("rank").default_value(0),
            text("tags").array().default_empty_array(),
            text("code").unique(),
        })
                   .add(plinth::index({"(lower(status))"}).named("accounts_status_lower_idx").where("enabled"))
                   .check("accounts_rank_check", "rank >= 0"));
}

// The default_sql a column builds into the descriptor.
std::string default_of(plinth::column c) {
    plinth::built_plugin built(plinth::plugin("x", "1").table(plinth::table("t", {std::move(c)})));
    return built.descriptor()->tables[0].columns[0].default_sql;
}

template <class T> concept takes_default_value = requires(plinth::column c, T value) { c.default_value(value); };

struct Recorder {
    static inline std::string error;
    static void set_error(const plinth_host*, const char* message) { error = message; }
    static void log(const plinth_host*, std::uint32_t, const char*) {}
};

struct Throws {
    void start(plinth::host) { throw std::runtime_error("no database"); }
};

}  // namespace

TEST_CASE("the builders produce the C descriptor the host reads") {
    plinth::built_plugin built(sample());
    const auto* d = built.descriptor();
    CHECK(d->abi_major == PLINTH_ABI_MAJOR);
    CHECK(d->struct_size == sizeof(plinth_plugin_descriptor));
    CHECK(std::strcmp(d->name, "sample") == 0);
    CHECK(std::strcmp(d->schema, "crm") == 0);
    REQUIRE(d->required_plugin_count == 1);
    CHECK(std::strcmp(d->required_plugins[0], "core") == 0);
    REQUIRE(d->table_count == 1);
    const plinth_table& t = d->tables[0];
    REQUIRE(t.column_count == 7);
    CHECK(std::strcmp(t.columns[0].default_sql, "gen_random_uuid()") == 0);
    CHECK((t.columns[0].flags & PLINTH_COLUMN_NOT_NULL) != 0);
    CHECK(std::strcmp(t.columns[2].default_sql, "'it''s active'") == 0);
    CHECK((t.columns[2].flags & PLINTH_COLUMN_NOT_NULL) == 0);
    CHECK(std::strcmp(t.columns[3].default_sql, "true") == 0);
    CHECK(std::strcmp(t.columns[4].default_sql, "0") == 0);
    CHECK(std::strcmp(t.columns[5].type, "text[]") == 0);
    CHECK(std::strcmp(t.columns[5].default_sql, "'{}'") == 0);
    REQUIRE(t.primary_key_count == 1);
    CHECK(std::strcmp(t.primary_key[0], "id") == 0);
    CHECK(t.primary_key_name == nullptr);
    REQUIRE(t.unique_count == 1);
    CHECK(std::strcmp(t.uniques[0].columns[0], "code") == 0);
    REQUIRE(t.foreign_key_count == 1);
    CHECK(std::strcmp(t.foreign_keys[0].ref_schema, "public") == 0);
    CHECK(std::strcmp(t.foreign_keys[0].ref_table, "agents") == 0);
    CHECK(t.foreign_keys[0].on_delete == PLINTH_FK_CASCADE);
    REQUIRE(t.index_count == 1);
    CHECK(std::strcmp(t.indexes[0].keys[0], "(lower(status))") == 0);
    CHECK(std::strcmp(t.indexes[0].predicate, "enabled") == 0);
    CHECK(t.indexes[0].method == nullptr);
    REQUIRE(t.check_count == 1);
    CHECK(std::strcmp(t.checks[0].expression, "rank >= 0") == 0);
}

TEST_CASE("a table-level composite key replaces column marks") {
    plinth::built_plugin built(plinth::plugin("x", "1").table(
        plinth::table("cache", {text("key").not_null(), uuid("agent_id").not_null()}).primary_key({"key", "agent_id"})));
    const auto& t = built.descriptor()->tables[0];
    REQUIRE(t.primary_key_count == 2);
    CHECK(std::strcmp(t.primary_key[1], "agent_id") == 0);
}

TEST_CASE("an exception in a lifecycle method becomes an error status with its message") {
    plinth_host host{};
    host.struct_size = sizeof(plinth_host);
    host.set_error = &Recorder::set_error;
    host.log = &Recorder::log;
    void* state = nullptr;
    CHECK(plinth::detail::init_thunk<Throws>(&host, &state) == PLINTH_OK);
    REQUIRE(state != nullptr);
    CHECK(plinth::detail::start_thunk<Throws>(&host, state) == PLINTH_ERROR);
    CHECK(Recorder::error == "no database");
    CHECK(plinth::detail::stop_thunk<Throws>(&host, state) == PLINTH_OK);
}

TEST_CASE("each builder that starts a declaration records where it was written") {
    const unsigned line = __LINE__;
    auto id = uuid("id").primary_key();               // line + 1
    auto code = text("code").unique();                // line + 2
    auto other = uuid("other_id").references("t");    // line + 3
    plinth::table t("t", {id, code, other});          // line + 4
    t.add(plinth::index({"code"}));                   // line + 5
    t.add(plinth::foreign_key({"other_id"}, "t"));    // line + 6
    t.unique({"code", "other_id"});                   // line + 7
    t.check("t_code_check", "code <> ''");            // line + 8
    plinth::built_plugin built(plinth::plugin("x", "1").table(t));
    const plinth_table& d = built.descriptor()->tables[0];
    CHECK(std::string_view(d.source_file).ends_with("tests/unit/test_sdk.cpp"));
    CHECK(d.source_line == line + 4);
    CHECK(d.columns[0].source_line == line + 1);
    CHECK(d.columns[1].source_line == line + 2);
    REQUIRE(d.unique_count == 2);
    CHECK(d.uniques[0].source_line == line + 2);  // code's unique(), then the table's
    CHECK(d.uniques[1].source_line == line + 7);
    REQUIRE(d.foreign_key_count == 2);
    CHECK(d.foreign_keys[0].source_line == line + 3);  // other_id's references(), then the table's
    CHECK(d.foreign_keys[1].source_line == line + 6);
    CHECK(d.indexes[0].source_line == line + 5);
    CHECK(d.checks[0].source_line == line + 8);
    CHECK(std::strcmp(d.checks[0].source_file, d.source_file) == 0);
}

TEST_CASE("default_value takes every arithmetic type and writes it exactly") {
    static_assert(takes_default_value<unsigned> && takes_default_value<double> && takes_default_value<float>);
    static_assert(takes_default_value<std::int8_t> && takes_default_value<unsigned long long>);
    static_assert(!takes_default_value<char>, "a character is text: default_value(\"a\")");
    CHECK(default_of(integer("n").default_value(42)) == "42");
    CHECK(default_of(integer("n").default_value(-7)) == "-7");
    CHECK(default_of(integer("n").default_value(5u)) == "5");
    CHECK(default_of(smallint("n").default_value(std::int8_t{-3})) == "-3");
    CHECK(default_of(bigint("n").default_value(std::numeric_limits<std::int64_t>::min())) == "-9223372036854775808");
    CHECK(default_of(bigint("n").default_value(std::int64_t{9007199254740993})) == "9007199254740993");
    CHECK(default_of(numeric("n", 20, 0).default_value(std::numeric_limits<std::uint64_t>::max())) ==
          "18446744073709551615");
    CHECK(default_of(double_precision("x").default_value(0.5)) == "0.5");
    CHECK(default_of(double_precision("x").default_value(-0.25)) == "-0.25");
    CHECK(default_of(double_precision("x").default_value(0.1 + 0.2)) == "0.30000000000000004");
    CHECK(default_of(double_precision("x").default_value(1e20)) == "1e+20");
    CHECK(default_of(double_precision("x").default_value(3.0)) == "3");
    // A float is written as the float it is, not as the double nearest to it.
    CHECK(default_of(real("x").default_value(0.1f)) == "0.1");
    CHECK(default_of(real("x").default_value(-1.5f)) == "-1.5");
    CHECK(default_of(double_precision("x").default_value(std::numeric_limits<double>::quiet_NaN())) == "'NaN'");
    CHECK(default_of(double_precision("x").default_value(-std::numeric_limits<double>::infinity())) == "'-Infinity'");
    CHECK(default_of(boolean("b").default_value(true)) == "true");
    CHECK(default_of(boolean("b").default_value(false)) == "false");
    CHECK(default_of(text("s").default_value("it's")) == "'it''s'");
    // Enough digits to read back the same value.
    for (double value : {1.0 / 3, 2.0 / 3e-300, 123456.789e10, 5e-324}) {
        const auto written = default_of(double_precision("x").default_value(value));
        CHECK(std::strtod(written.c_str(), nullptr) == value);
    }
}

namespace {
std::string upgraded_from;
void failing_upgrade(plinth::host, std::string_view previous) {
    upgraded_from = std::string(previous);
    throw std::runtime_error("cannot convert");
}
}  // namespace

TEST_CASE("renamed_from and the upgrade step are written into the ABI 1.4 descriptor; the step's exception is an error") {
    const plinth::built_plugin built(
        plinth::plugin("x", "2").table(plinth::table("t", {uuid("id").primary_key(), text("b").renamed_from("a"), text("c")})
                                           .renamed_from("old_t"))
            .upgrade<&failing_upgrade>());
    const auto* d = built.descriptor();
    CHECK(d->abi_minor == 4);
    CHECK(std::string(d->tables[0].renamed_from) == "old_t");
    CHECK(std::string(d->tables[0].columns[1].renamed_from) == "a");
    CHECK(d->tables[0].columns[2].renamed_from == nullptr);
    REQUIRE((d->upgrade != nullptr));
    plinth_host host{};
    host.struct_size = sizeof(plinth_host);
    host.set_error = &Recorder::set_error;
    host.log = &Recorder::log;
    CHECK(d->upgrade(&host, "1.0.0") == PLINTH_ERROR);
    CHECK(upgraded_from == "1.0.0");
    CHECK(Recorder::error == "cannot convert");
    const plinth::built_plugin plain(plinth::plugin("y", "1").table(plinth::table("t", {uuid("id").primary_key()})));
    CHECK((plain.descriptor()->upgrade == nullptr));
    CHECK(plain.descriptor()->tables[0].renamed_from == nullptr);
}

TEST_CASE("a descriptor of thousands of tables keeps every array whole across the arena's blocks") {
    // More tables, columns and names than one arena block holds (1,024 elements), and more text than
    // one text block (64 KiB): every slice must still be contiguous and every string its own table's.
    plinth::plugin p("many", "1");
    constexpr int kTables = 1500;
    for (int i = 0; i < kTables; ++i) {
        const std::string name = "t" + std::to_string(i);
        std::vector<plinth::column> columns{uuid("id").primary_key(), text(name + "_code").not_null().unique()};
        if (i > 0) columns.push_back(uuid("parent_id").references("t" + std::to_string(i - 1)));
        p.table(plinth::table(name, std::move(columns))
                    .unique({"id", name + "_code"})
                    .add(plinth::index({"id", name + "_code"}).with("fillfactor", 70))
                    .check(name + "_check", "true"));
    }
    const plinth::built_plugin built(std::move(p));
    const auto* d = built.descriptor();
    REQUIRE(d->table_count == kTables);
    for (int i = 0; i < kTables; ++i) {
        const auto& t = d->tables[i];
        const std::string name = "t" + std::to_string(i), code = name + "_code";
        REQUIRE(t.name == name);
        REQUIRE(t.column_count == (i > 0 ? 3u : 2u));
        CHECK(t.columns[1].name == code);
        REQUIRE(t.primary_key_count == 1);
        CHECK(std::strcmp(t.primary_key[0], "id") == 0);
        REQUIRE(t.unique_count == 2);
        CHECK(t.uniques[0].columns[0] == code);
        REQUIRE(t.uniques[1].column_count == 2);
        CHECK(t.uniques[1].columns[1] == code);
        REQUIRE(t.index_count == 1);
        CHECK(t.indexes[0].keys[1] == code);
        REQUIRE(t.indexes[0].option_count == 1);
        CHECK(std::strcmp(t.indexes[0].option_names[0], "fillfactor") == 0);
        CHECK(std::strcmp(t.indexes[0].option_values[0], "70") == 0);
        REQUIRE(t.foreign_key_count == (i > 0 ? 1u : 0u));
        if (i > 0) CHECK(t.foreign_keys[0].ref_table == "t" + std::to_string(i - 1));
        REQUIRE(t.check_count == 1);
        CHECK(t.checks[0].name == name + "_check");
    }
}

TEST_CASE("a plugin's tables are C structs as soon as declared; copies and builders stay independent") {
    // The column and its out-of-line parts (references, backfill, rename) are copied whole.
    plinth::column parent = uuid("parent_id").references("t0").backfill("gen_random_uuid()").renamed_from("up_id");
    const plinth::column copy = parent;
    parent.renamed_from("other");

    plinth::plugin base("x", "1");
    base.table(plinth::table("t0", {uuid("id").primary_key()}));
    plinth::plugin copied = base;  // shares what t0 points to; each keeps its own list of tables
    base.table(plinth::table("t1", {uuid("id").primary_key(), copy}));
    copied.table(plinth::table("t2", {text("name"), parent}));
    plinth::plugin moved = std::move(copied);
    copied.table(plinth::table("again", {text("name")}));  // a moved-from plugin still takes tables

    const plinth::built_plugin a(std::move(base)), b(std::move(moved)), c(std::move(copied));
    const auto* da = a.descriptor();
    const auto* db = b.descriptor();
    REQUIRE(da->table_count == 2);
    REQUIRE(db->table_count == 2);
    CHECK(std::string(da->tables[0].name) == "t0");
    CHECK(da->tables[0].name == db->tables[0].name);
    CHECK(std::string(da->tables[1].name) == "t1");
    CHECK(std::string(db->tables[1].name) == "t2");
    const plinth_column& from_copy = da->tables[1].columns[1];
    CHECK(std::string(from_copy.renamed_from) == "up_id");
    CHECK(std::string(from_copy.backfill) == "gen_random_uuid()");
    REQUIRE(da->tables[1].foreign_key_count == 1);
    CHECK(std::string(da->tables[1].foreign_keys[0].ref_table) == "t0");
    CHECK(std::string(db->tables[1].columns[1].renamed_from) == "other");
    CHECK(db->tables[1].foreign_key_count == 1);
    CHECK(db->tables[1].columns[0].renamed_from == nullptr);
    CHECK(db->tables[1].columns[0].backfill == nullptr);
    REQUIRE(c.descriptor()->table_count == 1);
    CHECK(std::string(c.descriptor()->tables[0].name) == "again");
}

TEST_CASE("the SDK's literal types and defaults are pointed to, a type or default given as text is copied") {
    std::string type = "varchar(12)";
    plinth::column named("code", type);
    plinth::column from_varchar = varchar("label", 40).array();
    const plinth::index by_code = plinth::index({"code"}).named("by_code");
    const plinth::foreign_key to_t = plinth::foreign_key({"code"}, "t", {"code"});
    const plinth::built_plugin built(
        plinth::plugin("x", "1")
            .table(plinth::table("a", {uuid("id").primary_key().default_random(), timestamptz("at").default_now(),
                                       std::move(named), std::move(from_varchar)})
                       .add(by_code))
            .table(plinth::table("b", {uuid("id").primary_key().default_random(), timestamptz("at").default_now(),
                                       text("code").default_value("n/a")})
                       .add(by_code)
                       .add(to_t)));
    type = "overwritten";
    const auto* d = built.descriptor();
    REQUIRE(d->table_count == 2);
    const plinth_column* a = d->tables[0].columns;
    const plinth_column* b = d->tables[1].columns;
    // One literal of the SDK's, the same pointer in every column that names it.
    CHECK(std::string(a[0].type) == "uuid");
    CHECK(a[0].type == b[0].type);
    CHECK(std::string(a[0].default_sql) == "gen_random_uuid()");
    CHECK(a[0].default_sql == b[0].default_sql);
    CHECK(std::string(a[1].type) == "timestamptz");
    CHECK(a[1].default_sql == b[1].default_sql);
    CHECK(std::string(a[1].default_sql) == "now()");
    // Text the plugin made is the descriptor's own copy.
    CHECK(std::string(a[2].type) == "varchar(12)");
    CHECK(a[2].default_sql == nullptr);
    CHECK(std::string(a[3].type) == "varchar(40)[]");
    CHECK(std::string(b[2].default_sql) == "'n/a'");
    // An index or a foreign key named twice is copied each time.
    REQUIRE(d->tables[0].index_count == 1);
    REQUIRE(d->tables[1].index_count == 1);
    CHECK(std::string(d->tables[0].indexes[0].name) == "by_code");
    CHECK(std::string(d->tables[1].indexes[0].name) == "by_code");
    REQUIRE(d->tables[1].foreign_key_count == 1);
    CHECK(std::string(d->tables[1].foreign_keys[0].ref_table) == "t");
}

TEST_CASE("a table's braced list moves the columns made in it and copies the ones named in it") {
    const plinth::column kept = text("note").default_value("n/a");
    std::vector<plinth::column> listed{uuid("id").primary_key()};
    const plinth::built_plugin built(plinth::plugin("x", "1")
                                         .table(plinth::table("braced", {uuid("id").primary_key(), kept}))
                                         .table(plinth::table("listed", std::move(listed)))
                                         .table(plinth::table("empty", {})));
    const auto* d = built.descriptor();
    REQUIRE(d->table_count == 3);
    REQUIRE(d->tables[0].column_count == 2);
    CHECK(std::string(d->tables[0].columns[1].name) == "note");
    CHECK(std::string(d->tables[0].columns[1].default_sql) == "'n/a'");
    CHECK(d->tables[1].column_count == 1);
    CHECK(d->tables[2].column_count == 0);
    // The named column was copied, not moved from: it still makes the same table.
    const plinth::built_plugin again(plinth::plugin("y", "1").table(plinth::table("t", {kept})));
    CHECK(std::string(again.descriptor()->tables[0].columns[0].default_sql) == "'n/a'");
}

TEST_CASE("lists of names, and a second constraint, index, check or reference of a kind, reach the descriptor in order") {
    const std::vector<std::string> key_columns = {"org_id", "slug"};
    const std::string with_nul("a\0b", 3);
    plinth::built_plugin built(plinth::plugin("x", "1").table(
        plinth::table("items", {uuid("id").default_random().default_sql("uuidv7()"), uuid("org_id").not_null(),
                                text("slug").not_null(), jsonb("meta").default_empty_array(), text("labels").array(),
                                uuid("owner").references("people").references("other.owners", "key")})
            .primary_key(key_columns, "items_pk")
            .unique({"slug"})
            .unique({"org_id", "slug"}, "items_org_slug_key")
            .add(plinth::index({"org_id", "(lower(slug))", "meta"}).opclasses({"", "text_pattern_ops"}))
            .add(plinth::index({with_nul}))
            .add(plinth::foreign_key({"org_id"}, "orgs", {}).named("items_org_fk"))
            .check("c1", "true")
            .check("c2", "false")));
    const plinth_table& t = built.descriptor()->tables[0];
    CHECK(std::string(t.columns[0].default_sql) == "uuidv7()");
    CHECK(std::string(t.columns[3].type) == "jsonb");
    CHECK(std::string(t.columns[3].default_sql) == "'[]'");
    CHECK(std::string(t.columns[4].type) == "text[]");
    REQUIRE(t.primary_key_count == 2);
    CHECK(std::string(t.primary_key[0]) == "org_id");
    CHECK(std::string(t.primary_key[1]) == "slug");
    CHECK(std::string(t.primary_key_name) == "items_pk");
    REQUIRE(t.unique_count == 2);
    CHECK(t.uniques[0].column_count == 1);
    REQUIRE(t.uniques[1].column_count == 2);
    CHECK(std::string(t.uniques[1].columns[1]) == "slug");
    CHECK(std::string(t.uniques[1].name) == "items_org_slug_key");
    REQUIRE(t.index_count == 2);
    REQUIRE(t.indexes[0].key_count == 3);
    CHECK(std::string(t.indexes[0].keys[1]) == "(lower(slug))");
    REQUIRE(t.indexes[0].opclasses != nullptr);
    CHECK(t.indexes[0].opclasses[0] == nullptr);  // "" keeps the key's default
    CHECK(std::string(t.indexes[0].opclasses[1]) == "text_pattern_ops");
    CHECK(t.indexes[0].opclasses[2] == nullptr);  // no name given for the third key
    REQUIRE(t.indexes[1].key_count == 1);
    CHECK(std::string(t.indexes[1].keys[0]) == "a");  // cut at the NUL, as a C string is
    REQUIRE(t.foreign_key_count == 3);  // the column's two, then the table's
    CHECK(std::string(t.foreign_keys[0].ref_table) == "people");
    CHECK(std::string(t.foreign_keys[1].ref_schema) == "other");
    CHECK(std::string(t.foreign_keys[1].ref_columns[0]) == "key");
    CHECK(std::string(t.foreign_keys[2].name) == "items_org_fk");
    CHECK(t.foreign_keys[2].ref_columns == nullptr);
    REQUIRE(t.check_count == 2);
    CHECK(std::string(t.checks[1].name) == "c2");
    CHECK_THROWS_AS(plinth::index({"a"}).opclasses({"x", "y"}), std::invalid_argument);
}
