#include <doctest/doctest.h>

#include <algorithm>

#include "load/loader.hpp"
#include "paths.hpp"
#include "plan/compare.hpp"
#include "validate/identifiers.hpp"
#include "validate/validator.hpp"

namespace {

plinth::model::Plugin load(const std::filesystem::path& file) {
    plinth::model::Plugin plugin;
    plinth::load::Refusal refusal;
    REQUIRE_MESSAGE(plinth::load::load_file(file, plugin, refusal), refusal.message());
    return plugin;
}

// Validates the given broken plugins together with the shipped core plugin.
plinth::validate::ValidationResult validate_with_core(const std::vector<std::string>& files) {
    std::vector<plinth::model::Plugin> plugins{load(plinth::test::plugins_dir() / "core.so")};
    for (const auto& f : files) plugins.push_back(load(plinth::test::broken_dir() / f));
    return plinth::validate::validate(std::move(plugins));
}

std::vector<std::string> texts(const plinth::validate::ValidationResult& r) {
    std::vector<std::string> out;
    for (const auto& p : r.problems) out.push_back(p.text());
    return out;
}

// How a problem names where its item was declared: the line of tests/broken/`file` marked `// marker`.
std::string declared_at(const std::string& file, const std::string& marker) {
    return " (declared at " + file + ":" + std::to_string(plinth::test::marked_line(file, marker)) + ")";
}

// The single problem's text, without the file path that starts it.
std::string only_problem(const std::string& file) {
    auto result = validate_with_core({file});
    REQUIRE(result.problems.size() == 1);
    CHECK(result.skipped.size() == 1);
    CHECK(result.plugins.size() == 1);  // core goes on
    const auto text = result.problems[0].text();
    const auto path = (plinth::test::broken_dir() / file).string() + ": ";
    REQUIRE(text.rfind(path, 0) == 0);
    return text.substr(path.size());
}

}  // namespace

TEST_CASE("the shipped plugins are valid, with defaults filled in") {
    std::vector<plinth::model::Plugin> plugins{load(plinth::test::plugins_dir() / "project-management.so"),
                                               load(plinth::test::plugins_dir() / "core.so")};
    auto result = plinth::validate::validate(std::move(plugins));
    CHECK(texts(result).empty());
    CHECK(result.skipped.empty());
    REQUIRE(result.plugins.size() == 2);
    CHECK(result.plugins[0].name == "core");  // sorted by name
    const auto& agents = result.plugins[0].tables[0];
    CHECK(agents.primary_key_name == "agents_pkey");
    CHECK(agents.uniques.at(0).name == "agents_username_key");
    const auto& entities = result.plugins[0].tables[1];
    CHECK(entities.foreign_keys.at(0).name == "entities_agent_id_fkey");
    CHECK(entities.foreign_keys.at(0).ref_columns == std::vector<std::string>{"id"});
    CHECK(entities.indexes.at(0).name == "entities_agent_id_idx");
}

TEST_CASE("one message per way a declaration can be wrong") {
    CHECK(only_problem("invalid_long_identifier.so") ==
          "plugin \"long-identifier\": table \"widgets\": column \"a_column_name_that_is_much_too_long_for_postgresql_identifiers_x\": "
          "name is 64 bytes long; PostgreSQL identifiers are at most 63 bytes" +
              declared_at("invalid_long_identifier.cpp", "@column"));
    CHECK(only_problem("invalid_table_name.so") ==
          "plugin \"bad-table-name\": table \"Widgets-2\": table name is not a valid identifier: use lower-case letters, "
          "digits and _, not starting with a digit" +
              declared_at("invalid_table_name.cpp", "@table"));
    CHECK(only_problem("invalid_duplicate_column.so") ==
          "plugin \"duplicate-column\": table \"widgets\": column \"label\": is declared twice" +
              declared_at("invalid_duplicate_column.cpp", "@column"));
    CHECK(only_problem("invalid_no_primary_key.so") ==
          "plugin \"no-primary-key\": table \"widgets\": has no primary key: mark a column primary_key() or declare a "
          "composite key" +
              declared_at("invalid_no_primary_key.cpp", "@table"));
    CHECK(only_problem("invalid_index_column.so") ==
          "plugin \"index-column\": table \"widgets\": index \"widgets_colour_idx\": column \"colour\" does not exist in the table" +
              declared_at("invalid_index_column.cpp", "@index"));
    CHECK(only_problem("invalid_fk_missing_table.so") ==
          "plugin \"fk-missing-table\": table \"widgets\": foreign key \"widgets_owner_id_fkey\": references table "
          "public.owners, which no plugin declares" +
              declared_at("invalid_fk_missing_table.cpp", "@fk"));
    CHECK(only_problem("invalid_fk_type.so") ==
          "plugin \"fk-type\": table \"widgets\": foreign key \"widgets_agent_id_fkey\": column \"agent_id\" is text but "
          "referenced column public.agents.id is uuid" +
              declared_at("invalid_fk_type.cpp", "@fk"));
    CHECK(only_problem("invalid_fk_not_required.so") ==
          "plugin \"fk-not-required\": table \"widgets\": foreign key \"widgets_agent_id_fkey\": references table "
          "public.agents of plugin \"core\", which this plugin does not require: add requires_plugin(\"core\")" +
              declared_at("invalid_fk_not_required.cpp", "@fk"));
    CHECK(only_problem("invalid_fk_not_unique.so") ==
          "plugin \"fk-not-unique\": table \"widgets\": foreign key \"widgets_agent_name_fkey\": referenced columns (name) "
          "of public.agents are neither its primary key nor a unique constraint" +
              declared_at("invalid_fk_not_unique.cpp", "@fk"));
    CHECK(only_problem("invalid_set_null.so") ==
          "plugin \"set-null\": table \"widgets\": foreign key \"widgets_agent_id_fkey\": uses SET NULL but column \"agent_id\" is NOT NULL" +
              declared_at("invalid_set_null.cpp", "@fk"));
    CHECK(only_problem("invalid_missing_required.so") ==
          "plugin \"missing-required\": requires plugin \"billing\", which is not loaded");
    CHECK(only_problem("invalid_duplicate_table.so") ==
          "plugin \"duplicate-table\": table \"agents\": table public.agents is also declared by plugin \"core\"" +
              declared_at("invalid_duplicate_table.cpp", "@table"));
    CHECK(only_problem("invalid_generated_name.so") ==
          "plugin \"generated-name\": table \"widgets_with_a_long_name\": index \"first_long_column_name, "
          "second_long_column_name\": generated name \"widgets_with_a_long_name_first_long_column_name_second_long_column_name_idx\" "
          "is 75 bytes; PostgreSQL would truncate it to 63: give this constraint a shorter name" +
              declared_at("invalid_generated_name.cpp", "@index"));
    CHECK(only_problem("invalid_statement.so") ==
          "plugin \"statement\": table \"widgets\": column \"label\": default contains ';' outside a quoted string: declare "
          "one expression, not statements" +
              declared_at("invalid_statement.cpp", "@column"));
    CHECK(only_problem("invalid_type.so") ==
          "plugin \"bad-type\": table \"widgets\": column \"label\": type \"text not null\" is not a type name PostgreSQL "
          "would accept (e.g. text, varchar(64), timestamptz, text[])" +
              declared_at("invalid_type.cpp", "@column"));
}

TEST_CASE("names, versions and type modifiers are checked where they are read") {
    CHECK(only_problem("invalid_system_column.so") ==
          "plugin \"system-column\": table \"widgets\": column \"xmin\": name is a PostgreSQL system column (xmin, xmax, "
          "cmin, cmax, ctid, tableoid, oid): choose another name" +
              declared_at("invalid_system_column.cpp", "@column"));
    CHECK(only_problem("invalid_version.so") == "plugin \"bad-version\": version is not valid UTF-8");
    CHECK(only_problem("invalid_modulus.so") ==
          "plugin \"bad-modulus\": table \"widgets\": column \"label\": type \"varchar(99999999999)\" has the number "
          "99999999999, out of range (at most 2147483647, and each type has its own limit)" +
              declared_at("invalid_modulus.cpp", "@column"));
    CHECK(only_problem("invalid_parenthesis.so") ==
          "plugin \"parenthesis\": table \"widgets\": check \"widgets_check\": expression closes a parenthesis it did "
          "not open: declare one expression" +
              declared_at("invalid_parenthesis.cpp", "@check"));
    CHECK(only_problem("invalid_hidden_semicolon.so") ==
          "plugin \"hidden-semicolon\": table \"widgets\": column \"label\": default contains ';' outside a quoted "
          "string: declare one expression, not statements" +
              declared_at("invalid_hidden_semicolon.cpp", "@column"));
    CHECK(only_problem("invalid_backfill_statement.so") ==
          "plugin \"backfill-statement\": table \"chores\": column \"priority\": backfill contains ';' outside a "
          "quoted string: declare one expression, not statements" +
              declared_at("invalid_backfill_statement.cpp", "@column"));
    CHECK(only_problem("invalid_backfill_nullable.so") ==
          "plugin \"backfill-nullable\": table \"chores\": column \"priority\": declares a backfill but is not NOT "
          "NULL: a backfill fills existing rows before NOT NULL is set; mark the column not_null(), or declare a "
          "default instead" +
              declared_at("invalid_backfill_nullable.cpp", "@column"));
    CHECK(only_problem("invalid_backfill_key.so") ==
          "plugin \"backfill-key\": table \"chores\": column \"id\": is part of the primary key and declares a "
          "backfill: a key column cannot be added empty and filled later" +
              declared_at("invalid_backfill_key.cpp", "@column"));
    CHECK(only_problem("invalid_using.so") ==
          "plugin \"bad-using\": table \"chores\": column \"weight\": USING expression contains ';' outside a "
          "quoted string: declare one expression, not statements" +
              declared_at("invalid_using.cpp", "@column"));
    CHECK(only_problem("invalid_open_call.so") ==
          "plugin \"open-call\": table \"widgets\": column \"seen\": default leaves a parenthesis open: declare one "
          "expression" +
              declared_at("invalid_open_call.cpp", "@column"));
    CHECK(only_problem("invalid_include_key.so") ==
          "plugin \"include-key\": table \"widgets\": index \"widgets_sneaky_idx\": key closes a parenthesis it did "
          "not open: declare one expression" +
              declared_at("invalid_include_key.cpp", "@index"));
    CHECK_FALSE(plinth::validate::check_version("2.0.0-β"));
    CHECK(plinth::validate::check_version("1.0\n") == "contains a control character");
    CHECK_FALSE(plinth::validate::check_type("varchar(2147483647)"));
    CHECK_FALSE(plinth::validate::check_type("int4"));
    CHECK(plinth::validate::check_expression("(a") == "leaves a parenthesis open: declare one expression");
    CHECK_FALSE(plinth::validate::check_expression("')' || (x)"));
}

TEST_CASE("every problem of a plugin is reported, not only the first") {
    auto result = validate_with_core({"invalid_many.so"});
    std::vector<std::string> messages;
    for (const auto& p : result.problems) messages.push_back((p.item.empty() ? "" : p.item + ": ") + p.message);
    CHECK(messages == std::vector<std::string>{
                          "schema \"pg_mine\" is reserved by PostgreSQL",
                          "column \"\": name is empty",
                          "column \"size\": type \"\" is empty",
                          "check \"\": name is empty",
                      });
    // The schema is the plugin's, which has no location; each other item has its own.
    const auto columns = "invalid_many.cpp:" + std::to_string(plinth::test::marked_line("invalid_many.cpp", "@columns"));
    const auto check = "invalid_many.cpp:" + std::to_string(plinth::test::marked_line("invalid_many.cpp", "@check"));
    std::vector<std::string> locations;
    for (const auto& p : result.problems) locations.push_back(p.location);
    CHECK(locations == std::vector<std::string>{"", columns, columns, check});
    REQUIRE(result.skipped.size() == 1);
    CHECK(result.skipped[0].reason == "4 problems in its declaration");
}

TEST_CASE("a plugin requiring an invalid plugin is skipped with it; the rest go on") {
    auto result = validate_with_core({"invalid_fk_type.so", "invalid_dependent.so"});
    CHECK(result.problems.size() == 1);
    std::vector<std::string> skipped;
    for (const auto& s : result.skipped) skipped.push_back(s.plugin + ": " + s.reason);
    CHECK(skipped == std::vector<std::string>{"fk-type: 1 problem in its declaration",
                                              "dependent: requires plugin \"fk-type\", which was skipped"});
    std::vector<std::string> valid;
    for (const auto& p : result.plugins) valid.push_back(p.name);
    CHECK(valid == std::vector<std::string>{"core"});
    CHECK(result.skipped[1].text() ==
          (plinth::test::broken_dir() / "invalid_dependent.so").string() +
              ": plugin \"dependent\" skipped: requires plugin \"fk-type\", which was skipped");
}

TEST_CASE("two files with the same plugin name: the second is refused, the first stays") {
    std::vector<plinth::model::Plugin> plugins{load(plinth::test::broken_dir() / "minimal_valid.so"),
                                               load(plinth::test::broken_dir() / "minimal_valid.so")};
    plugins[1].file = "copy/minimal_valid.so";
    auto result = plinth::validate::validate(std::move(plugins));
    REQUIRE(result.problems.size() == 1);
    CHECK(result.problems[0].text() ==
          "copy/minimal_valid.so: plugin \"minimal\": plugin name is also used by " +
              (plinth::test::broken_dir() / "minimal_valid.so").string());
    CHECK(result.plugins.size() == 1);
}

TEST_CASE("index names share one namespace per schema across plugins") {
    auto a = load(plinth::test::broken_dir() / "minimal_valid.so");
    auto b = a;
    b.name = "other";
    b.file = "other.so";
    b.tables[0].name = "gadgets";
    b.tables[0].primary_key_name = "widgets_pkey";
    auto result = plinth::validate::validate({a, b});
    REQUIRE(result.problems.size() == 1);
    CHECK(result.problems[0].text() ==
          "other.so: plugin \"other\": table \"gadgets\": primary key \"widgets_pkey\": name \"widgets_pkey\" is already "
          "taken in schema public by the primary key \"widgets_pkey\" of table public.widgets (plugin \"minimal\")");
}

TEST_CASE("a located problem ends with where its item was declared: the file's base name and the line") {
    auto plugin = load(plinth::test::broken_dir() / "minimal_valid.so");
    plugin.file = "notes.so";
    auto& table = plugin.tables[0];
    table.source = plinth::model::SourceLocation{"../plugins/notes/notes.cpp", 50};
    plinth::model::UniqueConstraint unique;
    unique.columns = {"body"};
    unique.source = plinth::model::SourceLocation{"../plugins/notes/notes.cpp", 56};
    table.uniques.push_back(unique);
    plinth::model::Check check{"widgets_check", "label <> ''", plinth::model::SourceLocation{"/src/notes.cpp", 0}};
    table.checks.push_back(check);
    table.checks.push_back(check);
    auto result = plinth::validate::validate({plugin});
    CHECK(texts(result) == std::vector<std::string>{
                               "notes.so: plugin \"minimal\": table \"widgets\": unique constraint \"widgets_body_key\": column "
                               "\"body\" does not exist in the table (declared at notes.cpp:56)",
                               // A location without a line names the file alone.
                               "notes.so: plugin \"minimal\": table \"widgets\": check \"widgets_check\": has the same name "
                               "as a check of this table (declared at notes.cpp)",
                           });
    CHECK(result.problems[0].location == "notes.cpp:56");
}

TEST_CASE("a problem of a plugin built before ABI 1.2 reads exactly as it did then") {
    auto result = plinth::validate::validate({load(plinth::test::broken_dir() / "abi_1_1.so")});
    CHECK(texts(result) == std::vector<std::string>{
                               (plinth::test::broken_dir() / "abi_1_1.so").string() +
                               ": plugin \"abi-1-1\": table \"widgets\": index \"widgets_colour_idx\": column \"colour\" "
                               "does not exist in the table",
                           });
}

TEST_CASE("a name one slip away from a known one gets a suggestion") {
    auto result = validate_with_core({"invalid_misspelled.so"});
    std::vector<std::string> messages;
    for (const auto& p : result.problems) messages.push_back((p.item.empty() ? "" : p.item + ": ") + p.message);
    CHECK(messages == std::vector<std::string>{
                          "unique constraint \"widgets_lable_key\": column \"lable\" does not exist in the table; did you "
                          "mean \"label\"?",
                          "index \"widgets_labels_idx\": column \"labels\" does not exist in the table; did you mean \"label\"?",
                          "requires plugin \"croe\", which is not loaded; did you mean \"core\"?",
                          "foreign key \"widgets_agent_id_fkey\": references table public.agnets, which no plugin declares; "
                          "did you mean \"agents\"?",
                          "foreign key \"widgets_parent_label_fkey\": referenced column public.widgets.lable does not exist; "
                          "did you mean \"label\"?",
                      });
    // The suggestion belongs to the message; the location still comes last.
    REQUIRE(result.problems.size() == 5);
    CHECK(result.problems[3].text() ==
          (plinth::test::broken_dir() / "invalid_misspelled.so").string() +
              ": plugin \"misspelled\": table \"widgets\": foreign key \"widgets_agent_id_fkey\": references table "
              "public.agnets, which no plugin declares; did you mean \"agents\"?" +
              declared_at("invalid_misspelled.cpp", "@agent"));
    CHECK(result.problems[0].location ==
          "invalid_misspelled.cpp:" + std::to_string(plinth::test::marked_line("invalid_misspelled.cpp", "@unique")));
    CHECK(result.problems[1].location ==
          "invalid_misspelled.cpp:" + std::to_string(plinth::test::marked_line("invalid_misspelled.cpp", "@index")));
    CHECK(result.problems[4].location ==
          "invalid_misspelled.cpp:" + std::to_string(plinth::test::marked_line("invalid_misspelled.cpp", "@parent")));
}

TEST_CASE("plugins that require each other are refused with the cycle named; their dependents are skipped") {
    auto result = validate_with_core({"invalid_cycle_a.so", "invalid_cycle_b.so", "invalid_cycle_dependent.so"});
    const auto broken = plinth::test::broken_dir();
    CHECK(texts(result) == std::vector<std::string>{
        (broken / "invalid_cycle_a.so").string() + ": plugin \"cycle-a\": requires plugin \"cycle-b\", which requires "
            "\"cycle-a\": plugins that require each other cannot be initialised one before the other",
        (broken / "invalid_cycle_b.so").string() + ": plugin \"cycle-b\": requires plugin \"cycle-a\", which requires "
            "\"cycle-b\": plugins that require each other cannot be initialised one before the other"});
    std::vector<std::string> skipped;
    for (const auto& s : result.skipped) skipped.push_back(s.plugin + ": " + s.reason);
    CHECK(skipped == std::vector<std::string>{"cycle-a: 1 problem in its declaration", "cycle-b: 1 problem in its declaration",
                                              "cycle-dependent: requires plugin \"cycle-a\", which was skipped"});
    std::vector<std::string> valid;
    for (const auto& p : result.plugins) valid.push_back(p.name);
    CHECK(valid == std::vector<std::string>{"core"});
}

TEST_CASE("a longer require cycle is named from each plugin on it back to itself") {
    auto a = load(plinth::test::broken_dir() / "minimal_valid.so");
    a.tables.clear();
    auto b = a, c = a;
    a.name = "a", b.name = "b", c.name = "c";
    a.requires_plugins = {"b"}, b.requires_plugins = {"c"}, c.requires_plugins = {"a"};
    a.file = "a.so", b.file = "b.so", c.file = "c.so";
    auto result = plinth::validate::validate({c, b, a});
    REQUIRE(result.problems.size() == 3);
    CHECK(result.problems[0].text() == "a.so: plugin \"a\": requires plugin \"b\", which requires \"c\", which requires \"a\": "
                                       "plugins that require each other cannot be initialised one before the other");
    CHECK(result.problems[2].text() == "c.so: plugin \"c\": requires plugin \"a\", which requires \"b\", which requires \"c\": "
                                       "plugins that require each other cannot be initialised one before the other");
    CHECK(result.plugins.empty());
}

TEST_CASE("renamed_from: an old name that is the item itself, still declared, a cycle, given twice or no identifier") {
    CHECK(only_problem("invalid_rename_self.so") ==
          "plugin \"rename-self\": table \"widgets\": column \"label\": renamed_from names the column itself" +
              declared_at("invalid_rename_self.cpp", "@column"));
    // Every problem of a plugin together, columns and tables alike.
    auto taken = validate_with_core({"invalid_rename_taken.so"});
    const auto path = plinth::test::broken_dir().string();
    CHECK(texts(taken) ==
          std::vector<std::string>{
              path + "/invalid_rename_taken.so: plugin \"rename-taken\": table \"widgets\": column \"title\": renamed_from "
                     "\"label\" names a column still declared here: a rename leaves only the new name" +
                  declared_at("invalid_rename_taken.cpp", "@column"),
              path + "/invalid_rename_taken.so: plugin \"rename-taken\": table \"gadgets\": renamed_from \"widgets\" names a "
                     "table still declared here: a rename leaves only the new name" +
                  declared_at("invalid_rename_taken.cpp", "@table")});
    auto cycle = validate_with_core({"invalid_rename_cycle.so"});
    CHECK(texts(cycle) ==
          std::vector<std::string>{
              path + "/invalid_rename_cycle.so: plugin \"rename-cycle\": table \"alpha\": renames form a cycle: alpha <- "
                     "beta <- alpha; rename in two releases, through a name no table uses" +
                  declared_at("invalid_rename_cycle.cpp", "@alpha"),
              path + "/invalid_rename_cycle.so: plugin \"rename-cycle\": table \"beta\": renames form a cycle: beta <- "
                     "alpha <- beta; rename in two releases, through a name no table uses" +
                  declared_at("invalid_rename_cycle.cpp", "@beta")});
    auto twice = validate_with_core({"invalid_rename_twice.so"});
    REQUIRE(twice.problems.size() == 2);
    CHECK(twice.problems[0].text().ends_with(
        "table \"widgets\": column \"caption\": renamed_from \"label\" is also given by column \"title\": one old name "
        "can become only one new name" + declared_at("invalid_rename_twice.cpp", "@twice")));
    CHECK_MESSAGE(twice.problems[1].text().find("column \"body\": renamed_from ") != std::string::npos,
                  twice.problems[1].text());
    for (const auto* result : {&taken, &cycle, &twice}) CHECK(result->skipped.size() == 1);
}

// Found by the descriptor fuzzer: std::regex recursed once per character of a type string of about
// a megabyte (the loader accepts up to 1 MiB) and overflowed the stack; plinth died in validation.
TEST_CASE("a type string far longer than any type is refused by its length, before any pattern") {
    CHECK(plinth::validate::check_type(std::string(300000, 'a')) ==
          "is 300000 bytes long; a type name here is at most 256 bytes");
    CHECK(plinth::validate::check_type(std::string(257, 'a')) == "is 257 bytes long; a type name here is at most 256 bytes");
    const std::string longest = std::string(63, 'a') + "." + std::string(63, 'b') + "(2147483647, 2147483647) with time zone[][][]";
    CHECK_FALSE(plinth::validate::check_type(longest));
}

// The same regex recursion, in the two places that still use std::regex on declared text.
TEST_CASE("a megabyte-long default or index key expression is handled without a stack overflow") {
    const std::string huge_literal = "'" + std::string(1 << 20, 'x') + "'::text";
    CHECK(plinth::plan::normalize_default(huge_literal) == huge_literal);
    CHECK(plinth::plan::normalize_default("'5'::integer") == "5");
    auto t = plinth::model::Table{};
    t.schema = "public";
    t.name = "t";
    t.columns.push_back({"id", "uuid", std::nullopt, true});
    t.primary_key = {"id"};
    t.primary_key_name = "t_pkey";
    t.indexes.push_back({"t_huge_idx", false, "hnsw", {"((" + std::string(1 << 20, 'a') + "::halfvec(3))"}, std::nullopt});
    plinth::model::Plugin p;
    p.name = "huge";
    p.version = "1";
    p.tables.push_back(t);
    const auto result = plinth::validate::validate({p});
    CHECK(result.plugins.size() + result.skipped.size() == 1);  // judged, one way or the other
}

// Names in one namespace of a table are checked against a small array first and a map once there
// are more than 16 (validator.cpp, FirstClaims): a name given twice is reported on either side of
// that switch, against the kind of constraint that took it first.
TEST_CASE("names given twice are found among few and among many") {
    plinth::model::Plugin p;
    p.file = "wide.so";
    p.name = "wide";
    p.version = "1.0.0";
    p.schema = "wide";
    plinth::model::Table t;
    t.schema = "wide";
    t.name = "wide";
    for (int i = 0; i < 20; ++i) t.columns.push_back({"c" + std::to_string(i), "text", std::nullopt});
    t.columns.push_back({"c3", "text", std::nullopt});   // among the first 16
    t.columns.push_back({"c17", "text", std::nullopt});  // past them
    t.primary_key = {"c0"};
    for (int i = 1; i < 20; ++i) t.uniques.push_back({"u" + std::to_string(i), {"c" + std::to_string(i)}});
    t.checks.push_back({"u2", "c2 <> ''"});
    t.checks.push_back({"u18", "c18 <> ''"});
    p.tables.push_back(std::move(t));
    auto result = plinth::validate::validate({std::move(p)});
    CHECK(texts(result) == std::vector<std::string>{
                               "wide.so: plugin \"wide\": table \"wide\": column \"c3\": is declared twice",
                               "wide.so: plugin \"wide\": table \"wide\": column \"c17\": is declared twice",
                               "wide.so: plugin \"wide\": table \"wide\": check \"u2\": has the same name as a unique "
                               "constraint of this table",
                               "wide.so: plugin \"wide\": table \"wide\": check \"u18\": has the same name as a unique "
                               "constraint of this table"});
}
