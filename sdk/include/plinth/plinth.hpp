// plinth C++ SDK: a header-only layer over plinth_plugin.h. A plugin author declares tables with
// builders, exports the plugin with PLINTH_PLUGIN, and never touches the raw ABI structs.
//
//   static plinth::plugin describe() {
//       using namespace plinth::columns;
//       return plinth::plugin("project-management", "1.0.0")
//           .requires_plugin("core")
//           .table(plinth::table("projects", {
//               uuid("id").primary_key().default_random(),
//               uuid("agent_id").not_null().references("agents", "id", plinth::fk_action::cascade),
//               text("name").not_null(),
//           }).add(plinth::index({"agent_id"}).named("project_agent_id_idx")));
//   }
//   PLINTH_PLUGIN(describe)
//
// Each builder that starts a declaration (a table, a column, an index, a unique constraint, a
// foreign key, a check) takes a last source_location argument that defaults to its caller's place,
// so plinth's messages can name the line, e.g. "(declared at notes.cpp:56)". Never pass it.
//
// Lifecycle methods use the host (logging, configuration, database) through plinth::host, declared
// in host.hpp. Nothing here throws across the ABI: the exported entry point and every lifecycle
// thunk catch.
#pragma once

#include <plinth/host.hpp>
#include <plinth/plinth_plugin.h>

#include <charconv>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <memory>
#include <optional>
#include <source_location>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace plinth {

// Where a declaration was written: std::source_location, or the same made of the compiler builtins
// it is built on where the standard library lacks it (clang before 15 over libstdc++).
#if defined(__cpp_lib_source_location)
using source_location = std::source_location;
#else
class source_location {
public:
    static constexpr source_location current(const char* file = __builtin_FILE(),
                                             std::uint_least32_t line = __builtin_LINE()) noexcept {
        source_location here;
        here.file_ = file;
        here.line_ = line;
        return here;
    }
    constexpr const char* file_name() const noexcept { return file_; }
    constexpr std::uint_least32_t line() const noexcept { return line_; }

private:
    const char* file_ = "";
    std::uint_least32_t line_ = 0;
};
#endif

enum class fk_action : std::uint32_t {
    no_action = PLINTH_FK_NO_ACTION,
    restrict = PLINTH_FK_RESTRICT,
    cascade = PLINTH_FK_CASCADE,
    set_null = PLINTH_FK_SET_NULL,
    set_default = PLINTH_FK_SET_DEFAULT,
};

// An SQL string literal: 'it''s'.
inline std::string sql_literal(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') out += '\'';
        out += c;
    }
    out += '\'';
    return out;
}

namespace detail {
// Character types are text, not numbers: default_value('a') would otherwise mean 97.
template <class T>
concept character = std::same_as<T, char> || std::same_as<T, wchar_t> || std::same_as<T, char8_t> ||
                    std::same_as<T, char16_t> || std::same_as<T, char32_t>;

// A number as an SQL literal, exactly: to_chars writes the shortest text that reads back as the same
// value of its type.
template <class T> std::string sql_number(T value) {
    if constexpr (std::same_as<T, bool>) {
        return value ? "true" : "false";
    } else {
        if constexpr (std::floating_point<T>) {
            // PostgreSQL's spellings; to_chars would write nan and inf, which SQL reads as names.
            if (std::isnan(value)) return "'NaN'";
            if (std::isinf(value)) return value > 0 ? "'Infinity'" : "'-Infinity'";
        }
        char text[64];
        const auto written = std::to_chars(text, text + sizeof text, value);
        return std::string(text, written.ptr);
    }
}
}  // namespace detail

namespace detail {
class descriptor_storage;

// An owned T, copied with its owner and made on first use: the rarely used parts of a builder,
// kept out of line so that the builder every declaration makes stays small to copy and to move.
template <class T> class boxed {
public:
    boxed() = default;
    boxed(const boxed& other) : value_(other.value_ ? std::make_unique<T>(*other.value_) : nullptr) {}
    boxed(boxed&&) noexcept = default;
    boxed& operator=(const boxed& other) {
        if (this != &other) value_ = other.value_ ? std::make_unique<T>(*other.value_) : nullptr;
        return *this;
    }
    boxed& operator=(boxed&&) noexcept = default;
    ~boxed() = default;
    T& get() {
        if (!value_) value_ = std::make_unique<T>();
        return *value_;
    }
    const T* find() const { return value_.get(); }

private:
    std::unique_ptr<T> value_;
};

// A string literal of the SDK's, which lives as long as the plugin's library.
struct literal {
    const char* text;
};

// A list of names (a constraint's columns, an index's keys or operator classes) in one string,
// each name followed by a NUL: the short lists most declarations have, {"code"} or
// {"org_id", "slug"}, then fit in the string itself instead of costing a vector and a string each.
// Made from a braced list or a vector. A name is cut at a NUL it holds, as the C string plinth
// reads of it would be.
class name_list {
public:
    name_list() = default;
    name_list(std::initializer_list<std::string_view> names) {
        for (std::string_view name : names) push_back(name);
    }
    name_list(const std::vector<std::string>& names) {
        for (const auto& name : names) push_back(name);
    }
    void push_back(std::string_view name) {
        text_.append(name.substr(0, name.find('\0')));
        text_.push_back('\0');
        ++size_;
    }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    // The names in order, each followed by its NUL.
    const std::string& joined() const { return text_; }

private:
    std::string text_;
    std::size_t size_ = 0;
};

// A declaration's list of which most have none or one (a table's unique constraints, indexes,
// foreign keys and checks; a column's references): the first in place, the rest in a vector, so
// that the usual table allocates nothing for them.
template <class T> class first_and_rest {
public:
    void push_back(T&& value) { emplace_back(std::move(value)); }
    // Made in place from T's constructor arguments: a temporary moved in would move each of its
    // strings once more.
    template <class... Args> void emplace_back(Args&&... args) {
        if (!first_)
            first_.emplace(std::forward<Args>(args)...);
        else
            rest_.emplace_back(std::forward<Args>(args)...);
    }
    std::size_t size() const { return first_ ? 1 + rest_.size() : 0; }
    // Visits each in order.
    template <class Visit> void each(Visit&& visit) const {
        if (!first_) return;
        visit(*first_);
        for (const T& value : rest_) visit(value);
    }

private:
    std::optional<T> first_;
    std::vector<T> rest_;
};
}  // namespace detail

// Every builder call comes twice: on an lvalue it returns the object, on a temporary it returns it
// as an rvalue, so that a chain like table(...).unique(...).check(...) moves into the container it
// is given to instead of being copied.
class foreign_key {
public:
    foreign_key(detail::name_list columns, std::string ref_table, detail::name_list ref_columns = {},
                source_location source = source_location::current())
        : columns_(std::move(columns)), ref_columns_(std::move(ref_columns)), source_(source) {
        // "schema.table" names another schema's table; a bare name is the plugin's own schema.
        if (auto dot = ref_table.find('.'); dot != std::string::npos) {
            ref_schema_ = ref_table.substr(0, dot);
            ref_table_ = ref_table.substr(dot + 1);
        } else {
            ref_table_ = std::move(ref_table);
        }
    }
    foreign_key& named(std::string name) & { name_ = std::move(name); return *this; }
    foreign_key&& named(std::string name) && { return std::move(named(std::move(name))); }
    foreign_key& on_delete(fk_action action) & { on_delete_ = action; return *this; }
    foreign_key&& on_delete(fk_action action) && { return std::move(on_delete(action)); }
    foreign_key& on_update(fk_action action) & { on_update_ = action; return *this; }
    foreign_key&& on_update(fk_action action) && { return std::move(on_update(action)); }

private:
    friend class detail::descriptor_storage;
    std::string name_;
    detail::name_list columns_;
    std::string ref_schema_;
    std::string ref_table_;
    detail::name_list ref_columns_;
    fk_action on_delete_ = fk_action::no_action;
    fk_action on_update_ = fk_action::no_action;
    source_location source_;
};

class column {
public:
    column(std::string name, std::string type, source_location source = source_location::current())
        : name_(std::move(name)), source_(source) {
        extras_.get().type = std::move(type);
    }
    // A type named by one of the SDK's string literals (plinth::columns): kept as that pointer, so
    // that the thousands of columns of a large plugin copy and move no type string, and the
    // descriptor points to the literal itself (it lives as long as the library).
    column(std::string name, detail::literal type, source_location source = source_location::current())
        : name_(std::move(name)), type_literal_(type.text), source_(source) {}

    column& not_null() & { not_null_ = true; return *this; }
    column&& not_null() && { return std::move(not_null()); }
    // Part of the table's primary key (several such columns make a composite key). Implies NOT NULL.
    column& primary_key() & { primary_key_ = true; not_null_ = true; return *this; }
    column&& primary_key() && { return std::move(primary_key()); }
    // A single-column unique constraint named "<table>_<column>_key".
    column& unique(source_location source = source_location::current()) & {
        unique_ = true;
        unique_source_ = source;
        return *this;
    }
    column&& unique(source_location source = source_location::current()) && { return std::move(unique(source)); }
    // Turns the type into an array of it: text -> text[].
    column& array() & {
        extras_.get().type = std::string(type_text()) + "[]";
        type_literal_ = nullptr;
        return *this;
    }
    column&& array() && { return std::move(array()); }

    // A default given as an SQL expression, used verbatim: "now()", "gen_random_uuid()".
    column& default_sql(std::string expression) & {
        default_ = std::move(expression);
        default_literal_ = nullptr;
        return *this;
    }
    column&& default_sql(std::string expression) && { return std::move(default_sql(std::move(expression))); }
    // A default given as a value, quoted as an SQL literal: default_value("active") -> 'active'.
    column& default_value(std::string_view text) & { return default_sql(sql_literal(text)); }
    column&& default_value(std::string_view text) && { return std::move(default_value(text)); }
    column& default_value(const char* text) & { return default_value(std::string_view(text)); }
    column&& default_value(const char* text) && { return std::move(default_value(text)); }
    // A number or a bool, written exactly: 5, -3, 0.5, 1e+20, true. Any integer or floating-point type.
    template <class T>
        requires(std::integral<T> || std::floating_point<T>) && (!detail::character<T>)
    column& default_value(T value) & { return default_sql(detail::sql_number(value)); }
    template <class T>
        requires(std::integral<T> || std::floating_point<T>) && (!detail::character<T>)
    column&& default_value(T value) && { return std::move(default_value(value)); }
    column& default_random() & { return default_literal("gen_random_uuid()"); }
    column&& default_random() && { return std::move(default_random()); }
    column& default_now() & { return default_literal("now()"); }
    column&& default_now() && { return std::move(default_now()); }
    // For json/jsonb columns: '{}' and '[]'.
    column& default_empty_object() & { return default_value("{}"); }
    column&& default_empty_object() && { return std::move(default_empty_object()); }
    column& default_empty_array() & {
        return default_value(type_text() == "jsonb" || type_text() == "json" ? "[]" : "{}");
    }
    column&& default_empty_array() && { return std::move(default_empty_array()); }

    // How rows already in the table get their value (ABI 1.4): one SQL expression over the row,
    // e.g. "coalesce(legacy_priority, 0)". plinth adds the column nullable, fills it after the
    // commit in batches by primary key, then sets NOT NULL online. Only on a not_null() column.
    column& backfill(std::string expression) & { extras_.get().backfill = std::move(expression); return *this; }
    column&& backfill(std::string expression) && { return std::move(backfill(std::move(expression))); }
    // The USING expression of a type change that rewrites the table (ABI 1.4), e.g.
    // "legacy_id::bigint"; applied only when the operator allows the table-rewrite hazard.
    column& using_expr(std::string expression) & { extras_.get().using_expression = std::move(expression); return *this; }
    column&& using_expr(std::string expression) && { return std::move(using_expr(std::move(expression))); }
    // ABI 1.4: this column was called `old_name` before: plinth renames it in place (catalog only,
    // the data stays) while the table has the old name and not this one.
    column& renamed_from(std::string old_name) & { extras_.get().renamed_from = std::move(old_name); return *this; }
    column&& renamed_from(std::string old_name) && { return std::move(renamed_from(std::move(old_name))); }

    // A foreign key from this column; `table` may be "schema.table" for another schema's table.
    column& references(std::string table, std::string ref_column = "id",
                       fk_action on_delete = fk_action::no_action,
                       fk_action on_update = fk_action::no_action,
                       source_location source = source_location::current()) & {
        extras_.get().references.push_back(
            foreign_key({name_}, std::move(table), {ref_column}, source).on_delete(on_delete).on_update(on_update));
        return *this;
    }
    column&& references(std::string table, std::string ref_column = "id",
                        fk_action on_delete = fk_action::no_action,
                        fk_action on_update = fk_action::no_action,
                        source_location source = source_location::current()) && {
        return std::move(references(std::move(table), std::move(ref_column), on_delete, on_update, source));
    }

private:
    friend class detail::descriptor_storage;
    std::string name_;
    const char* type_literal_ = nullptr;  // instead of extras_'s type
    std::string_view type_text() const {
        if (type_literal_) return type_literal_;
        const auto* extras = extras_.find();
        return extras ? std::string_view(extras->type) : std::string_view();
    }
    std::string default_;
    const char* default_literal_ = nullptr;  // instead of default_: one of the SDK's own, not copied
    column& default_literal(const char* expression) {
        default_.clear();
        default_literal_ = expression;
        return *this;
    }
    bool not_null_ = false;
    bool primary_key_ = false;
    bool unique_ = false;
    source_location source_;
    source_location unique_source_;
    struct extras {
        std::string type;  // one the SDK has no literal for: varchar(n), numeric(p,s), vector(n), an array
        std::string backfill;
        std::string using_expression;
        std::string renamed_from;
        detail::first_and_rest<foreign_key> references;
    };
    detail::boxed<extras> extras_;
};

namespace columns {
inline column uuid(std::string name, source_location source = source_location::current()) {
    return {std::move(name), detail::literal{"uuid"}, source};
}
inline column text(std::string name, source_location source = source_location::current()) {
    return {std::move(name), detail::literal{"text"}, source};
}
inline column varchar(std::string name, int length, source_location source = source_location::current()) {
    return {std::move(name), "varchar(" + std::to_string(length) + ")", source};
}
inline column boolean(std::string name, source_location source = source_location::current()) {
    return {std::move(name), detail::literal{"boolean"}, source};
}
inline column smallint(std::string name, source_location source = source_location::current()) {
    return {std::move(name), detail::literal{"smallint"}, source};
}
inline column integer(std::string name, source_location source = source_location::current()) {
    return {std::move(name), detail::literal{"integer"}, source};
}
inline column bigint(std::string name, source_location source = source_location::current()) {
    return {std::move(name), detail::literal{"bigint"}, source};
}
inline column real(std::string name, source_location source = source_location::current()) {
    return {std::move(name), detail::literal{"real"}, source};
}
inline column double_precision(std::string name, source_location source = source_location::current()) {
    return {std::move(name), detail::literal{"double precision"}, source};
}
inline column numeric(std::string name, int precision, int scale,
                      source_location source = source_location::current()) {
    return {std::move(name), "numeric(" + std::to_string(precision) + "," + std::to_string(scale) + ")", source};
}
inline column jsonb(std::string name, source_location source = source_location::current()) {
    return {std::move(name), detail::literal{"jsonb"}, source};
}
inline column json(std::string name, source_location source = source_location::current()) {
    return {std::move(name), detail::literal{"json"}, source};
}
inline column date(std::string name, source_location source = source_location::current()) {
    return {std::move(name), detail::literal{"date"}, source};
}
inline column timestamp(std::string name, source_location source = source_location::current()) {
    return {std::move(name), detail::literal{"timestamp"}, source};
}
inline column timestamptz(std::string name, source_location source = source_location::current()) {
    return {std::move(name), detail::literal{"timestamptz"}, source};
}
inline column bytea(std::string name, source_location source = source_location::current()) {
    return {std::move(name), detail::literal{"bytea"}, source};
}
// A pgvector column; on servers without pgvector the migrator falls back to real[] of that length.
inline column vector(std::string name, int dimensions, source_location source = source_location::current()) {
    return {std::move(name), "vector(" + std::to_string(dimensions) + ")", source};
}
// pgvector's half-precision vector (2 bytes an element); without pgvector, real[] like vector.
inline column halfvec(std::string name, int dimensions, source_location source = source_location::current()) {
    return {std::move(name), "halfvec(" + std::to_string(dimensions) + ")", source};
}
// pgvector's sparse vector of `dimensions` dimensions; needs pgvector on the server.
inline column sparsevec(std::string name, int dimensions, source_location source = source_location::current()) {
    return {std::move(name), "sparsevec(" + std::to_string(dimensions) + ")", source};
}
// PostgreSQL's bit string of exactly `length` bits, which pgvector indexes (bit_hamming_ops).
inline column bit(std::string name, int length, source_location source = source_location::current()) {
    return {std::move(name), "bit(" + std::to_string(length) + ")", source};
}
}  // namespace columns

class index {
public:
    // Each key is a column name, or an SQL expression in parentheses: "(metadata->>'type')".
    explicit index(detail::name_list keys, source_location source = source_location::current())
        : keys_(std::move(keys)), source_(source) {}
    index& named(std::string name) & { name_ = std::move(name); return *this; }
    index&& named(std::string name) && { return std::move(named(std::move(name))); }
    index& unique() & { unique_ = true; return *this; }
    index&& unique() && { return std::move(unique()); }
    index& using_method(std::string method) & { method_ = std::move(method); return *this; }
    index&& using_method(std::string method) && { return std::move(using_method(std::move(method))); }
    index& where(std::string predicate) & { predicate_ = std::move(predicate); return *this; }
    index&& where(std::string predicate) && { return std::move(where(std::move(predicate))); }
    // The operator class of each key, in key order; "" keeps a key's default. More names than keys
    // throw std::invalid_argument, so the plugin is refused rather than an operator class lost.
    index& opclasses(detail::name_list names) & {
        if (names.size() > keys_.size())
            throw std::invalid_argument("index with " + std::to_string(keys_.size()) + " keys given " +
                                        std::to_string(names.size()) + " operator classes");
        opclasses_ = std::move(names);
        return *this;
    }
    index&& opclasses(detail::name_list names) && { return std::move(opclasses(std::move(names))); }
    // A storage parameter, WITH (name = value): with("m", 16), with("fillfactor", 70).
    index& with(std::string name, std::int64_t value) & { return with(std::move(name), std::to_string(value)); }
    index&& with(std::string name, std::int64_t value) && { return std::move(with(std::move(name), value)); }
    index& with(std::string name, std::string value) & {
        options_.emplace_back(std::move(name), std::move(value));
        return *this;
    }
    index&& with(std::string name, std::string value) && { return std::move(with(std::move(name), std::move(value))); }
    // pgvector's similarity indexes over one key, e.g. index({"embedding"}).hnsw("vector_cosine_ops"):
    // the operator class picks the distance (vector_l2_ops, vector_ip_ops, vector_cosine_ops, and
    // halfvec_*, sparsevec_*, bit_hamming_ops, ...). Options: with("m", 16), with("ef_construction", 64).
    index& hnsw(std::string opclass) & { return using_method("hnsw").opclasses({opclass}); }
    index&& hnsw(std::string opclass) && { return std::move(hnsw(std::move(opclass))); }
    index& ivfflat(std::string opclass, std::int64_t lists) & {
        return using_method("ivfflat").opclasses({opclass}).with("lists", lists);
    }
    index&& ivfflat(std::string opclass, std::int64_t lists) && { return std::move(ivfflat(std::move(opclass), lists)); }

private:
    friend class detail::descriptor_storage;
    std::string name_;
    std::string method_;
    detail::name_list keys_;
    std::string predicate_;
    bool unique_ = false;
    source_location source_;
    detail::name_list opclasses_;
    std::vector<std::pair<std::string, std::string>> options_;
};

// A column written in a table's braced list. The elements of a braced list can only be copied
// from; a column made in the list is moved into this wrapper and from it into the table instead.
class column_arg {
public:
    // Implicit: the list is written with columns.
    column_arg(column&& c) : column_(std::move(c)) {}
    column_arg(const column& c) : column_(c) {}

private:
    friend class table;
    mutable column column_;
};

class table {
public:
    // plinth::table("projects", {uuid("id").primary_key(), text("name").not_null()})
    table(std::string name, std::initializer_list<column_arg> columns,
          source_location source = source_location::current())
        : name_(std::move(name)), source_(source) {
        columns_.reserve(columns.size());
        for (const auto& arg : columns) columns_.push_back(std::move(arg.column_));
    }
    table(std::string name, std::vector<column> columns,
          source_location source = source_location::current())
        : name_(std::move(name)), columns_(std::move(columns)), source_(source) {}

    // A (composite) primary key; replaces any column-level primary_key() marks.
    table& primary_key(detail::name_list columns, std::string name = {}) & {
        primary_key_ = std::move(columns);
        primary_key_name_ = std::move(name);
        return *this;
    }
    table&& primary_key(detail::name_list columns, std::string name = {}) && { return std::move(primary_key(std::move(columns), std::move(name))); }
    table& unique(detail::name_list columns, std::string name = {},
                  source_location source = source_location::current()) & {
        uniques_.emplace_back(std::move(name), std::move(columns), source);
        return *this;
    }
    table&& unique(detail::name_list columns, std::string name = {},
                   source_location source = source_location::current()) && {
        return std::move(unique(std::move(columns), std::move(name), source));
    }
    table& add(index&& idx) & { indexes_.push_back(std::move(idx)); return *this; }
    table&& add(index&& idx) && { return std::move(add(std::move(idx))); }
    table& add(const index& idx) & { return add(index(idx)); }
    table&& add(const index& idx) && { return std::move(add(idx)); }
    table& add(foreign_key&& fk) & { foreign_keys_.push_back(std::move(fk)); return *this; }
    table&& add(foreign_key&& fk) && { return std::move(add(std::move(fk))); }
    table& add(const foreign_key& fk) & { return add(foreign_key(fk)); }
    table&& add(const foreign_key& fk) && { return std::move(add(fk)); }
    table& check(std::string name, std::string expression,
                 source_location source = source_location::current()) & {
        checks_.emplace_back(std::move(name), std::move(expression), source);
        return *this;
    }
    table&& check(std::string name, std::string expression,
                  source_location source = source_location::current()) && {
        return std::move(check(std::move(name), std::move(expression), source));
    }
    // ABI 1.4: this table was called `old_name` (in the plugin's schema) before: plinth renames it
    // in place (catalog only, the rows stay) while the database has the old name and not this one.
    table& renamed_from(std::string old_name) & { renamed_from_ = std::move(old_name); return *this; }
    table&& renamed_from(std::string old_name) && { return std::move(renamed_from(std::move(old_name))); }

private:
    friend class detail::descriptor_storage;
    // Constructors, not aggregates: first_and_rest::emplace_back makes them in place, and clang
    // before 16 cannot initialise an aggregate from parentheses.
    struct unique_def {
        unique_def(std::string&& n, detail::name_list&& c, source_location s)
            : name(std::move(n)), columns(std::move(c)), source(s) {}
        std::string name;
        detail::name_list columns;
        source_location source;
    };
    struct check_def {
        check_def(std::string&& n, std::string&& e, source_location s)
            : name(std::move(n)), expression(std::move(e)), source(s) {}
        std::string name;
        std::string expression;
        source_location source;
    };
    std::string name_;
    std::vector<column> columns_;
    source_location source_;
    detail::name_list primary_key_;
    std::string primary_key_name_;
    detail::first_and_rest<unique_def> uniques_;
    detail::first_and_rest<index> indexes_;
    detail::first_and_rest<foreign_key> foreign_keys_;
    detail::first_and_rest<check_def> checks_;
    std::string renamed_from_;
};

namespace detail {
template <class T> concept has_init = requires(T t, host h) { t.init(h); };
template <class T> concept has_start = requires(T t, host h) { t.start(h); };
template <class T> concept has_stop = requires(T t, host h) { t.stop(h); };

// Runs a lifecycle step; an exception becomes PLINTH_ERROR with its message, never crossing the ABI.
template <class F>
std::uint32_t guarded(const plinth_host* raw, F&& step) noexcept {
    try {
        step();
        return PLINTH_OK;
    } catch (const std::exception& e) {
        raw->set_error(raw, e.what());
    } catch (...) {
        raw->set_error(raw, "unknown C++ exception");
    }
    return PLINTH_ERROR;
}

// The plugin object is created by init and destroyed by stop (or by init when init fails).
template <class T> std::uint32_t init_thunk(const plinth_host* raw, void** state) noexcept {
    T* object = nullptr;
    std::uint32_t status = guarded(raw, [&] {
        object = new T();
        if constexpr (has_init<T>) object->init(host(raw));
    });
    if (status != PLINTH_OK) {
        delete object;
        object = nullptr;
    }
    *state = object;
    return status;
}
template <class T> std::uint32_t start_thunk(const plinth_host* raw, void* state) noexcept {
    return guarded(raw, [&] {
        if constexpr (has_start<T>) static_cast<T*>(state)->start(host(raw));
    });
}
template <class T> std::uint32_t stop_thunk(const plinth_host* raw, void* state) noexcept {
    auto* object = static_cast<T*>(state);
    std::uint32_t status = guarded(raw, [&] {
        if constexpr (has_stop<T>) object->stop(host(raw));
    });
    delete object;
    return status;
}
// The upgrade step: `Step(host, previous_version)`; an exception becomes PLINTH_ERROR.
template <auto Step> std::uint32_t upgrade_thunk(const plinth_host* raw, const char* previous_version) noexcept {
    return guarded(raw, [&] { Step(host(raw), std::string_view(previous_version ? previous_version : "")); });
}
}  // namespace detail

namespace detail {
// Hands out arrays of T that never move: slices of blocks of at least kBlock elements, kept until
// the arena goes. A descriptor of thousands of tables is then built from a few dozen allocations,
// not several per table, and its arrays lie together for whoever reads them.
template <class T, std::size_t kBlock = 1024> class array_arena {
public:
    // `count` zeroed elements; nullptr for none.
    T* take(std::size_t count) {
        if (count == 0) return nullptr;
        if (used_ + count > capacity_) {
            capacity_ = count > kBlock ? count : kBlock;
            blocks_.push_back(std::make_unique<T[]>(capacity_));
            used_ = 0;
        }
        T* slice = blocks_.back().get() + used_;
        used_ += count;
        return slice;
    }

private:
    std::vector<std::unique_ptr<T[]>> blocks_;
    std::size_t capacity_ = 0;
    std::size_t used_ = 0;
};

// What the C descriptor's tables point to: every string a copy in the text arena (but the SDK's own
// literals, a column's type or default, which the library keeps), every array a slice of an arena;
// nothing here ever moves. A table is turned into its C struct as soon as the plugin declares it
// and its builders are freed, so a plugin of thousands of tables never holds every builder and the
// descriptor together (the next table's builders reuse the same memory) and the memory it touches
// is the descriptor's alone. Copies of a plugin share one storage: it only grows, and each copy
// keeps its own list of tables.
class descriptor_storage {
public:
    // A copy of `s` in the text arena. Whoever reads the descriptor (the host hashes all of it on
    // every start) then reads its strings from a few contiguous blocks, not from a scattered cache
    // line in each builder object.
    const char* text(std::string_view s) {
        char* out = text_.take(s.size() + 1);  // zeroed: the last byte is the NUL
        std::char_traits<char>::copy(out, s.data(), s.size());  // not <cstring>: its index() would hide plinth::index
        return out;
    }
    const char* optional_text(std::string_view s) { return s.empty() ? nullptr : text(s); }

    const char* const* names(const name_list& list) {
        const char** out = names_.take(list.size());
        fill_names(list, out, false);
        return out;
    }

private:
    // file_name() points to a string literal, which lives as long as the library.
    template <class Abi> static void locate(Abi& out, const source_location& source) {
        out.source_file = source.file_name();
        out.source_line = source.line();
    }

    // The list's text copied at once, and in `out` a pointer to each name in it; an empty name is
    // NULL when `empty_is_null` (an operator class left to its default).
    void fill_names(const name_list& list, const char** out, bool empty_is_null) {
        const std::string& joined = list.joined();
        char* copy = text_.take(joined.size());
        std::char_traits<char>::copy(copy, joined.data(), joined.size());
        for (std::size_t i = 0; i < list.size(); ++i) {
            const std::size_t length = std::char_traits<char>::length(copy);
            out[i] = empty_is_null && length == 0 ? nullptr : copy;
            copy += length + 1;
        }
    }

    const char* const* one_name(const std::string& name) {
        const char** out = names_.take(1);
        out[0] = text(name);
        return out;
    }

    plinth_foreign_key make_fk(const foreign_key& fk) {
        plinth_foreign_key out{};
        out.struct_size = sizeof(plinth_foreign_key);
        out.column_count = static_cast<std::uint32_t>(fk.columns_.size());
        out.name = optional_text(fk.name_);
        out.columns = names(fk.columns_);
        out.ref_schema = optional_text(fk.ref_schema_);
        out.ref_table = text(fk.ref_table_);
        out.ref_columns = fk.ref_columns_.empty() ? nullptr : names(fk.ref_columns_);
        out.on_delete = static_cast<std::uint32_t>(fk.on_delete_);
        out.on_update = static_cast<std::uint32_t>(fk.on_update_);
        locate(out, fk.source_);
        return out;
    }

    plinth_unique make_unique(const char* const* columns, std::size_t count, const std::string& name,
                              const source_location& source) {
        plinth_unique out{};
        out.struct_size = sizeof(plinth_unique);
        out.column_count = static_cast<std::uint32_t>(count);
        out.name = optional_text(name);
        out.columns = columns;
        locate(out, source);
        return out;
    }

public:
    // The C struct of `t`, pointing into this storage.
    plinth_table make_table(const table& t) {
        std::size_t unique_count = t.uniques_.size(), fk_count = t.foreign_keys_.size(), pk_count = t.primary_key_.size();
        for (const auto& c : t.columns_) {
            unique_count += c.unique_ ? 1 : 0;
            if (const auto* extras = c.extras_.find()) fk_count += extras->references.size();
            if (t.primary_key_.empty() && c.primary_key_) ++pk_count;
        }
        plinth_column* cols = columns_.take(t.columns_.size());
        plinth_unique* uniques = uniques_.take(unique_count);
        plinth_index* indexes = indexes_.take(t.indexes_.size());
        plinth_foreign_key* fks = fks_.take(fk_count);
        plinth_check* checks = checks_.take(t.checks_.size());
        const char** pk = t.primary_key_.empty() ? names_.take(pk_count) : nullptr;
        std::size_t u = 0, f = 0, k = 0;
        for (std::size_t i = 0; i < t.columns_.size(); ++i) {
            const column& c = t.columns_[i];
            plinth_column& pc = cols[i];
            pc.struct_size = sizeof(plinth_column);
            pc.flags = c.not_null_ ? PLINTH_COLUMN_NOT_NULL : 0u;
            pc.name = text(c.name_);
            pc.type = c.type_literal_ ? c.type_literal_ : text(c.type_text());
            pc.default_sql = c.default_literal_ ? c.default_literal_ : optional_text(c.default_);
            if (const auto* extras = c.extras_.find()) {
                pc.backfill = optional_text(extras->backfill);
                pc.using_expression = optional_text(extras->using_expression);
                pc.renamed_from = optional_text(extras->renamed_from);
            }
            locate(pc, c.source_);
            if (c.primary_key_ && pk) pk[k++] = pc.name;
            if (c.unique_) uniques[u++] = make_unique(one_name(c.name_), 1, {}, c.unique_source_);
            if (const auto* extras = c.extras_.find())
                extras->references.each([&](const foreign_key& fk) { fks[f++] = make_fk(fk); });
        }
        t.uniques_.each([&](const table::unique_def& def) {
            uniques[u++] = make_unique(names(def.columns), def.columns.size(), def.name, def.source);
        });
        std::size_t x = 0;
        t.indexes_.each([&](const index& idx) {
            plinth_index& pi = indexes[x++];
            pi.struct_size = sizeof(plinth_index);
            pi.flags = idx.unique_ ? PLINTH_INDEX_UNIQUE : 0u;
            pi.name = optional_text(idx.name_);
            pi.method = optional_text(idx.method_);
            pi.keys = names(idx.keys_);
            pi.key_count = static_cast<std::uint32_t>(idx.keys_.size());
            pi.predicate = optional_text(idx.predicate_);
            locate(pi, idx.source_);
            if (!idx.opclasses_.empty()) {
                // One entry per key, as the ABI wants; keys without one keep their default (NULL).
                const char** opclasses = names_.take(idx.keys_.size());
                fill_names(idx.opclasses_, opclasses, true);
                pi.opclasses = opclasses;
            }
            if (!idx.options_.empty()) {
                const char** option_names = names_.take(idx.options_.size());
                const char** option_values = names_.take(idx.options_.size());
                for (std::size_t n = 0; n < idx.options_.size(); ++n) {
                    option_names[n] = text(idx.options_[n].first);
                    option_values[n] = text(idx.options_[n].second);
                }
                pi.option_names = option_names;
                pi.option_values = option_values;
                pi.option_count = static_cast<std::uint32_t>(idx.options_.size());
            }
        });
        t.foreign_keys_.each([&](const foreign_key& fk) { fks[f++] = make_fk(fk); });
        std::size_t n = 0;
        t.checks_.each([&](const table::check_def& ch) {
            plinth_check& pc = checks[n++];
            pc.struct_size = sizeof(plinth_check);
            pc.name = text(ch.name);
            pc.expression = text(ch.expression);
            locate(pc, ch.source);
        });

        plinth_table out{};
        out.struct_size = sizeof(plinth_table);
        out.name = text(t.name_);
        out.column_count = static_cast<std::uint32_t>(t.columns_.size());
        out.columns = cols;
        out.primary_key_count = static_cast<std::uint32_t>(pk_count);
        out.primary_key = pk ? pk : names(t.primary_key_);
        out.primary_key_name = optional_text(t.primary_key_name_);
        out.unique_count = static_cast<std::uint32_t>(unique_count);
        out.uniques = uniques;
        out.index_count = static_cast<std::uint32_t>(t.indexes_.size());
        out.indexes = indexes;
        out.foreign_key_count = static_cast<std::uint32_t>(fk_count);
        out.foreign_keys = fks;
        out.check_count = static_cast<std::uint32_t>(t.checks_.size());
        out.checks = checks;
        out.renamed_from = optional_text(t.renamed_from_);
        locate(out, t.source_);
        return out;
    }

private:
    array_arena<char, 64 * 1024> text_;
    array_arena<const char*> names_;
    array_arena<plinth_column> columns_;
    array_arena<plinth_unique> uniques_;
    array_arena<plinth_index> indexes_;
    array_arena<plinth_foreign_key> fks_;
    array_arena<plinth_check> checks_;
};

// The C structs of the tables declared so far, in blocks that stay where they are as more come
// (one vector of thousands would be copied whole, into fresh memory, at each doubling);
// built_plugin copies them once into the one array the descriptor points to.
class table_list {
public:
    void push_back(const plinth_table& t) {
        if (blocks_.empty() || blocks_.back().size() == kBlock) blocks_.emplace_back().reserve(kBlock);
        blocks_.back().push_back(t);
    }
    std::size_t size() const { return blocks_.empty() ? 0 : (blocks_.size() - 1) * kBlock + blocks_.back().size(); }
    std::vector<plinth_table> joined() const {
        std::vector<plinth_table> out;
        out.reserve(size());
        for (const auto& block : blocks_) out.insert(out.end(), block.begin(), block.end());
        return out;
    }

private:
    static constexpr std::size_t kBlock = 512;
    std::vector<std::vector<plinth_table>> blocks_;
};
}  // namespace detail

// A plugin's declaration. Each table given to table() is turned into the C descriptor's form at once
// (detail::descriptor_storage).
class plugin {
public:
    plugin(std::string name, std::string version) : name_(std::move(name)), version_(std::move(version)) {}
    // The PostgreSQL schema this plugin owns; "public" when not called.
    plugin& schema(std::string schema) & { schema_ = std::move(schema); return *this; }
    plugin&& schema(std::string name) && { return std::move(schema(std::move(name))); }
    plugin& requires_plugin(std::string name) & { requires_.push_back(std::move(name)); return *this; }
    plugin&& requires_plugin(std::string name) && { return std::move(requires_plugin(std::move(name))); }
    plugin& table(const plinth::table& t) & {
        tables_.push_back(storage().make_table(t));
        return *this;
    }
    plugin&& table(const plinth::table& t) && { return std::move(table(t)); }
    // T is default-constructed at init and destroyed after stop; it may define any of
    // init(plinth::host), start(plinth::host), stop(plinth::host). Exceptions become errors.
    template <class T> plugin& runs() & {
        init_ = &detail::init_thunk<T>;
        start_ = &detail::start_thunk<T>;
        stop_ = &detail::stop_thunk<T>;
        return *this;
    }
    template <class T> plugin&& runs() && { return std::move(runs<T>()); }
    // ABI 1.4: `Step` is a function void(plinth::host, std::string_view previous_version), run once
    // each time this plugin's version changes, inside the migration's transaction after the schema
    // changes (see plinth_upgrade_fn). Its queries run in that transaction; an exception rolls
    // everything back. Use: .upgrade<&move_priorities>()
    template <auto Step> plugin& upgrade() & {
        upgrade_ = &detail::upgrade_thunk<Step>;
        return *this;
    }
    template <auto Step> plugin&& upgrade() && { return std::move(upgrade<Step>()); }

private:
    friend class built_plugin;
    std::string name_;
    std::string version_;
    std::string schema_;
    detail::name_list requires_;
    detail::table_list tables_;
    std::shared_ptr<detail::descriptor_storage> storage_;  // what tables_ points to
    // Made on first use: a moved-from plugin has none.
    detail::descriptor_storage& storage() {
        if (!storage_) storage_ = std::make_shared<detail::descriptor_storage>();
        return *storage_;
    }
    plinth_init_fn init_ = nullptr;
    plinth_start_fn start_ = nullptr;
    plinth_stop_fn stop_ = nullptr;
    plinth_upgrade_fn upgrade_ = nullptr;
};

// The C descriptor of a plugin: its tables as the plugin made them, and the plugin's own fields.
class built_plugin {
public:
    explicit built_plugin(plugin p) : plugin_(std::move(p)) { build(); }
    // The descriptor points into this object's storage: it must never move.
    built_plugin(const built_plugin&) = delete;
    built_plugin& operator=(const built_plugin&) = delete;
    const plinth_plugin_descriptor* descriptor() const { return &descriptor_; }

private:
    void build() {
        detail::descriptor_storage& storage = plugin_.storage();
        descriptor_ = {};
        descriptor_.abi_major = PLINTH_ABI_MAJOR;
        descriptor_.abi_minor = PLINTH_ABI_MINOR;
        descriptor_.struct_size = sizeof(plinth_plugin_descriptor);
        descriptor_.name = storage.text(plugin_.name_);
        descriptor_.version = storage.text(plugin_.version_);
        descriptor_.schema = storage.optional_text(plugin_.schema_);
        descriptor_.required_plugin_count = static_cast<std::uint32_t>(plugin_.requires_.size());
        descriptor_.required_plugins = storage.names(plugin_.requires_);
        tables_ = plugin_.tables_.joined();
        descriptor_.table_count = static_cast<std::uint32_t>(tables_.size());
        descriptor_.tables = tables_.empty() ? nullptr : tables_.data();
        descriptor_.init = plugin_.init_;
        descriptor_.start = plugin_.start_;
        descriptor_.stop = plugin_.stop_;
        descriptor_.upgrade = plugin_.upgrade_;
    }

    plugin plugin_;
    std::vector<plinth_table> tables_;
    plinth_plugin_descriptor descriptor_{};
};

namespace detail {
// Builds the descriptor into `slot` once; on any exception the entry point returns NULL and the
// host refuses the plugin with a clear message instead of crashing. The slot is a static of the
// exported function itself, so two plugins can never share it, however they are linked.
template <class Describe>
const plinth_plugin_descriptor* export_descriptor(std::unique_ptr<built_plugin>& slot, Describe describe) noexcept {
    try {
        if (!slot) slot = std::make_unique<built_plugin>(describe());
        return slot->descriptor();
    } catch (...) {
        return nullptr;
    }
}
}  // namespace detail

}  // namespace plinth

// Exports the plugin: `describe` is a function returning plinth::plugin.
#define PLINTH_PLUGIN(describe)                                                           \
    extern "C" PLINTH_EXPORT const plinth_plugin_descriptor* plinth_plugin_entry_v1(void) { \
        static std::unique_ptr<::plinth::built_plugin> built;                             \
        return ::plinth::detail::export_descriptor(built, describe);                      \
    }
