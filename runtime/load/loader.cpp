#include "load/loader.hpp"

#include "load/elf_check.hpp"
#include "signals/sanitizer.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

#include <sys/stat.h>
#include <unistd.h>

#include <boost/dll/shared_library.hpp>
#include <xxhash.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace plinth::load {
namespace {

// The smallest struct sizes a 1.x plugin can have: each struct as it was in ABI 1.0, up to and
// including its last 1.0 member. Later minors only append, so these never change within major 1.
#define PLINTH_END_OF(type, member) static_cast<std::uint32_t>(offsetof(type, member) + sizeof(type::member))
constexpr std::uint32_t kDescriptorMin = PLINTH_END_OF(plinth_plugin_descriptor, reserved);
constexpr std::uint32_t kTableMin = PLINTH_END_OF(plinth_table, reserved);
constexpr std::uint32_t kColumnMin = PLINTH_END_OF(plinth_column, default_sql);
constexpr std::uint32_t kUniqueMin = PLINTH_END_OF(plinth_unique, columns);
constexpr std::uint32_t kIndexMin = PLINTH_END_OF(plinth_index, reserved);
constexpr std::uint32_t kForeignKeyMin = PLINTH_END_OF(plinth_foreign_key, on_update);
constexpr std::uint32_t kCheckMin = PLINTH_END_OF(plinth_check, expression);
// Where the 1.2 source location ends: an element smaller than this was built before 1.2.
template <class T> constexpr std::uint32_t kSourceEnd = PLINTH_END_OF(T, source_line);
// Where the 1.3 operator classes and storage parameters of an index end.
constexpr std::uint32_t kIndexOptionsEnd = PLINTH_END_OF(plinth_index, options_reserved);
// ABI 1.4: a column's backfill and USING expression.
constexpr std::uint32_t kColumnDataEnd = PLINTH_END_OF(plinth_column, using_expression);
// Where the 1.4 members end: renames, and the upgrade step.
template <class T> constexpr std::uint32_t kRenamedFromEnd = PLINTH_END_OF(T, renamed_from);
constexpr std::uint32_t kDescriptorUpgradeEnd = PLINTH_END_OF(plinth_plugin_descriptor, upgrade);
#undef PLINTH_END_OF

// Limits that keep a corrupt descriptor from making the host allocate or walk without bound.
constexpr std::uint32_t kMaxTables = 10000;
constexpr std::uint32_t kMaxItems = 1600;  // PostgreSQL's column limit; ample for keys and constraints
constexpr std::size_t kMaxString = 1 << 20;
// A later minor appends a few members to a struct, never doubles it many times over: a stride past
// this multiple of the size known here is corrupt, and walking by it would read far past the array.
constexpr std::size_t kMaxStrideFactor = 64;

// A structural defect of the descriptor; caught in load_file and turned into a Refusal.
struct DescriptorError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Where a value lies in the descriptor, e.g. `table "orders" columns[3].name`, spelled out only when
// an error names it: copying a large plugin visits hundreds of thousands of values, and building
// each one's context string up front was a third of the cost of loading and validating it. A
// Context refers to its parent and to text that outlive it (literals, the copied table name).
class Context {
public:
    struct TableName {
        std::string_view name;
    };
    explicit Context(std::string_view text) : text_(text) {}
    // `table "name"`.
    explicit Context(TableName table) : text_(table.name), quoted_table_(true) {}
    // `parent` followed by `text`, e.g. ".name".
    Context(const Context& parent, std::string_view text) : parent_(&parent), text_(text) {}
    // `parent` followed by `[index]`.
    Context(const Context& parent, std::uint32_t index) : parent_(&parent), index_(index), indexed_(true) {}
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    std::string str() const {
        std::string out = parent_ ? parent_->str() : std::string();
        if (indexed_) out += "[" + std::to_string(index_) + "]";
        else if (quoted_table_) out += "table \"" + std::string(text_) + "\"";
        else out += text_;
        return out;
    }

private:
    const Context* parent_ = nullptr;
    std::string_view text_;
    std::uint32_t index_ = 0;
    bool indexed_ = false;
    bool quoted_table_ = false;
};

std::string copy_string(const char* s, const Context& what) {
    if (!s) return {};
    std::size_t n = ::strnlen(s, kMaxString + 1);
    if (n > kMaxString) throw DescriptorError(what.str() + " is longer than 1 MiB (not NUL-terminated?)");
    return std::string(s, n);
}

std::optional<std::string> copy_optional(const char* s, const Context& what) {
    if (!s) return std::nullopt;
    return copy_string(s, what);
}

[[noreturn, gnu::noinline, gnu::cold]] void refuse_array(std::uint32_t count, std::uint32_t limit, const Context& what) {
    if (count > limit)
        throw DescriptorError(what.str() + " count " + std::to_string(count) + " exceeds the limit of " +
                              std::to_string(limit));
    throw DescriptorError(what.str() + " is NULL but its count is " + std::to_string(count));
}

// Inlined: the digest checks every array of a descriptor.
[[gnu::always_inline]] inline void check_array(const void* base, std::uint32_t count, std::uint32_t limit,
                                               const Context& what) {
    if (count > limit || (count > 0 && !base)) [[unlikely]]
        refuse_array(count, limit, what);
}

std::vector<std::string> copy_names(const char* const* names, std::uint32_t count, const Context& what) {
    check_array(names, count, kMaxItems, what);
    std::vector<std::string> out;
    out.reserve(count);
    for (std::uint32_t i = 0; i < count; ++i) {
        const Context item(what, i);
        if (!names[i]) throw DescriptorError(item.str() + " is NULL");
        out.push_back(copy_string(names[i], item));
    }
    return out;
}

// An array of ABI structs with the stride of its first element's struct_size, which must be at
// least the 1.0 size; each element is checked, as it is taken, to have that same size.
template <class T> class StructArray {
public:
    StructArray(const T* base, std::uint32_t count, std::uint32_t limit, std::uint32_t min_size, const Context& what)
        : what_(what), bytes_(reinterpret_cast<const unsigned char*>(base)), count_(count) {
        check_array(base, count, limit, what);
        if (count == 0) return;
        stride_ = base->struct_size;
        if (stride_ < min_size)
            throw DescriptorError(what.str() + " struct_size " + std::to_string(stride_) + " is smaller than " +
                                  std::to_string(min_size) + ", the size in plinth ABI 1.0");
        if (stride_ > kMaxStrideFactor * sizeof(T))
            throw DescriptorError(what.str() + " struct_size " + std::to_string(stride_) + " is larger than " +
                                  std::to_string(kMaxStrideFactor * sizeof(T)) + ", " +
                                  std::to_string(kMaxStrideFactor) + " times the size in this plinth (corrupt descriptor?)");
        if (stride_ % alignof(T) != 0)
            throw DescriptorError(what.str() + " struct_size " + std::to_string(stride_) + " is not a multiple of " +
                                  std::to_string(alignof(T)));
    }
    std::uint32_t size() const { return count_; }
    [[gnu::always_inline]] const T& operator[](std::uint32_t i) const {
        const T& element = *reinterpret_cast<const T*>(bytes_ + std::size_t(i) * stride_);
        if (element.struct_size != stride_) [[unlikely]]
            refuse_element(i, element.struct_size);
        return element;
    }

private:
    [[noreturn, gnu::noinline, gnu::cold]] void refuse_element(std::uint32_t i, std::uint32_t size) const {
        throw DescriptorError(Context(what_, i).str() + " struct_size " + std::to_string(size) +
                              " differs from the first element's " + std::to_string(stride_));
    }

    const Context& what_;
    const unsigned char* bytes_;
    std::uint32_t count_;
    std::uint32_t stride_ = 0;
};

// Visits each element of a StructArray with its context, e.g. `columns[3]`.
template <class T, class Visit>
void each_struct(const T* base, std::uint32_t count, std::uint32_t limit, std::uint32_t min_size,
                 const Context& what, Visit visit) {
    const StructArray<T> array(base, count, limit, min_size, what);
    for (std::uint32_t i = 0; i < array.size(); ++i) {
        const T& element = array[i];
        visit(element, Context(what, i));
    }
}

// The source location an ABI 1.2 element carries; nullopt for an older or a plain-C element.
template <class T>
std::optional<model::SourceLocation> copy_source(const T& element, const Context& what) {
    if (element.struct_size < kSourceEnd<T> || !element.source_file) return std::nullopt;
    return model::SourceLocation{copy_string(element.source_file, Context(what, ".source_file")), element.source_line};
}

model::FkAction copy_action(std::uint32_t raw, const Context& what) {
    if (raw > PLINTH_FK_SET_DEFAULT)
        throw DescriptorError(what.str() + " has unknown foreign key action " + std::to_string(raw));
    return static_cast<model::FkAction>(raw);
}

// ABI 1.4: the previous name of a table or column; nullopt for an older element or none given.
template <class T>
std::optional<std::string> copy_renamed_from(const T& element, const Context& what) {
    if (element.struct_size < kRenamedFromEnd<T>) return std::nullopt;
    return copy_optional(element.renamed_from, Context(what, ".renamed_from"));
}

// ABI 1.3: the operator class of each key (NULL entries keep the default) and the storage parameters.
void copy_index_options(const plinth_index& x, const Context& item, model::Index& idx) {
    if (x.opclasses) {
        const Context opclasses(item, ".opclasses");
        check_array(x.opclasses, x.key_count, kMaxItems, opclasses);
        for (std::uint32_t i = 0; i < x.key_count; ++i)
            idx.opclasses.push_back(copy_string(x.opclasses[i], Context(opclasses, i)));
        if (std::all_of(idx.opclasses.begin(), idx.opclasses.end(), [](const auto& o) { return o.empty(); }))
            idx.opclasses.clear();
    }
    const auto names = copy_names(x.option_names, x.option_count, Context(item, ".option_names"));
    const auto values = copy_names(x.option_values, x.option_count, Context(item, ".option_values"));
    for (std::uint32_t i = 0; i < x.option_count; ++i) idx.options.emplace_back(names[i], values[i]);
    // One spelling whatever the order written; a name given twice is left for validation to report.
    std::stable_sort(idx.options.begin(), idx.options.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
}

model::Table copy_table(const plinth_table& t, const Context& what, const std::string& schema) {
    model::Table table;
    table.schema = schema;
    table.name = copy_string(t.name, Context(what, ".name"));
    table.source = copy_source(t, what);
    table.renamed_from = copy_renamed_from(t, what);
    const Context named(Context::TableName{table.name});
    const Context& where = table.name.empty() ? what : named;
    // Room for every element up front (a count past the limit is refused below, before any use).
    table.columns.reserve(std::min(t.column_count, kMaxItems));
    table.uniques.reserve(std::min(t.unique_count, kMaxItems));
    table.indexes.reserve(std::min(t.index_count, kMaxItems));
    table.foreign_keys.reserve(std::min(t.foreign_key_count, kMaxItems));
    table.checks.reserve(std::min(t.check_count, kMaxItems));
    each_struct(t.columns, t.column_count, kMaxItems, kColumnMin, Context(where, " columns"),
                [&](const plinth_column& c, const Context& item) {
                    model::Column col;
                    col.name = copy_string(c.name, Context(item, ".name"));
                    col.type = copy_string(c.type, Context(item, ".type"));
                    col.default_sql = copy_optional(c.default_sql, Context(item, ".default_sql"));
                    col.not_null = (c.flags & PLINTH_COLUMN_NOT_NULL) != 0;
                    col.source = copy_source(c, item);
                    if (c.struct_size >= kColumnDataEnd) {
                        col.backfill = copy_optional(c.backfill, Context(item, ".backfill"));
                        col.using_expression = copy_optional(c.using_expression, Context(item, ".using_expression"));
                    }
                    col.renamed_from = copy_renamed_from(c, item);
                    table.columns.push_back(std::move(col));
                });
    table.primary_key = copy_names(t.primary_key, t.primary_key_count, Context(where, " primary_key"));
    table.primary_key_name = copy_string(t.primary_key_name, Context(where, " primary_key_name"));
    each_struct(t.uniques, t.unique_count, kMaxItems, kUniqueMin, Context(where, " uniques"),
                [&](const plinth_unique& u, const Context& item) {
                    table.uniques.push_back({copy_string(u.name, Context(item, ".name")),
                                             copy_names(u.columns, u.column_count, Context(item, ".columns")),
                                             copy_source(u, item)});
                });
    each_struct(t.indexes, t.index_count, kMaxItems, kIndexMin, Context(where, " indexes"),
                [&](const plinth_index& x, const Context& item) {
                    model::Index idx;
                    idx.name = copy_string(x.name, Context(item, ".name"));
                    idx.unique = (x.flags & PLINTH_INDEX_UNIQUE) != 0;
                    if (x.method) idx.method = copy_string(x.method, Context(item, ".method"));
                    idx.keys = copy_names(x.keys, x.key_count, Context(item, ".keys"));
                    idx.predicate = copy_optional(x.predicate, Context(item, ".predicate"));
                    idx.source = copy_source(x, item);
                    if (x.struct_size >= kIndexOptionsEnd) copy_index_options(x, item, idx);
                    table.indexes.push_back(std::move(idx));
                });
    each_struct(t.foreign_keys, t.foreign_key_count, kMaxItems, kForeignKeyMin, Context(where, " foreign_keys"),
                [&](const plinth_foreign_key& f, const Context& item) {
                    model::ForeignKey fk;
                    fk.name = copy_string(f.name, Context(item, ".name"));
                    fk.columns = copy_names(f.columns, f.column_count, Context(item, ".columns"));
                    fk.ref_schema = f.ref_schema ? copy_string(f.ref_schema, Context(item, ".ref_schema")) : schema;
                    fk.ref_table = copy_string(f.ref_table, Context(item, ".ref_table"));
                    if (f.ref_columns)
                        fk.ref_columns = copy_names(f.ref_columns, f.column_count, Context(item, ".ref_columns"));
                    fk.on_delete = copy_action(f.on_delete, Context(item, ".on_delete"));
                    fk.on_update = copy_action(f.on_update, Context(item, ".on_update"));
                    fk.source = copy_source(f, item);
                    table.foreign_keys.push_back(std::move(fk));
                });
    each_struct(t.checks, t.check_count, kMaxItems, kCheckMin, Context(where, " checks"),
                [&](const plinth_check& c, const Context& item) {
                    table.checks.push_back({copy_string(c.name, Context(item, ".name")),
                                            copy_string(c.expression, Context(item, ".expression")),
                                            copy_source(c, item)});
                });
    return table;
}

// Copies everything the descriptor points to. The header has already been checked.
void copy_descriptor(const plinth_plugin_descriptor& d, model::Plugin& plugin) {
    if (!d.name) throw DescriptorError("descriptor has a NULL plugin name");
    plugin.name = copy_string(d.name, Context("plugin name"));
    if (plugin.name.empty()) throw DescriptorError("descriptor has an empty plugin name");
    const std::string who = "plugin \"" + plugin.name + "\": ";
    try {
        plugin.version = copy_string(d.version, Context("version"));
        if (d.schema) plugin.schema = copy_string(d.schema, Context("schema"));
        plugin.requires_plugins =
            copy_names(d.required_plugins, d.required_plugin_count, Context("required_plugins"));
        plugin.tables.reserve(std::min(d.table_count, kMaxTables));
        each_struct(d.tables, d.table_count, kMaxTables, kTableMin, Context("tables"),
                    [&](const plinth_table& t, const Context& item) {
                        plugin.tables.push_back(copy_table(t, item, plugin.schema));
                    });
    } catch (const DescriptorError& e) {
        throw DescriptorError(who + e.what());
    }
    plugin.lifecycle.init = d.init;
    plugin.lifecycle.start = d.start;
    plugin.lifecycle.stop = d.stop;
    if (d.struct_size >= kDescriptorUpgradeEnd) plugin.lifecycle.upgrade = d.upgrade;
}

// The text of the dynamic loader's own complaint inside Boost.DLL's message, when present.
std::string loader_message(const std::exception& e) {
    std::string text = e.what();
    const std::string marker = "dlerror system message: ";
    if (auto at = text.find(marker); at != std::string::npos) {
        auto start = at + marker.size();
        auto end = text.find(')', start);
        return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    }
    return text;
}

// A file's identity whatever name reaches it: a symlink or a hard link is the same library.
using FileId = std::pair<dev_t, ino_t>;

std::optional<FileId> file_id(const std::filesystem::path& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return std::nullopt;
    return FileId{st.st_dev, st.st_ino};
}

// Every library ever loaded, by file. Never unloaded, like PostgreSQL's: a plugin thread, a stop
// abandoned on its thread or an atexit handler may still run library code at any time, and
// dlclose under it would crash. Never destroyed for the same reason.
struct LoadedLibraries {
    std::mutex mu;
    std::map<FileId, std::shared_ptr<boost::dll::shared_library>> by_file;
};

LoadedLibraries& loaded_libraries() {
    static auto* libraries = new LoadedLibraries;
    return *libraries;
}

std::atomic<bool> g_library_opened{false};

// The file whose code runs at this moment of a load (constructors, then the entry function); empty
// otherwise. Read by an atexit handler: a library that calls exit() there would otherwise end
// plinth silently, with whatever status it chose (exit(0) looks like success).
char g_loading[4096];

extern "C" void report_exit_during_load() {
    if (g_loading[0] == '\0') return;
    // Only async-signal-safe calls: the process is being torn down under us.
    constexpr char head[] = "plinth: the plugin library ";
    constexpr char tail[] = " ended the process while it was being loaded (exit() in a constructor or in its "
                            "entry function); stopping with status 1\n";
    (void)!::write(2, head, sizeof head - 1);
    (void)!::write(2, g_loading, std::strlen(g_loading));
    (void)!::write(2, tail, sizeof tail - 1);
    ::_exit(1);
}

// Marks `file` as loading for its scope; registers the handler once.
class LoadingGuard {
public:
    explicit LoadingGuard(const std::filesystem::path& file) {
        static const bool registered = [] {
            std::atexit(report_exit_during_load);
            std::at_quick_exit(report_exit_during_load);
            return true;
        }();
        (void)registered;
        const std::string text = file.string();
        const std::size_t n = std::min(text.size(), sizeof g_loading - 1);
        std::memcpy(g_loading, text.data(), n);
        g_loading[n] = '\0';
    }
    LoadingGuard(const LoadingGuard&) = delete;
    LoadingGuard& operator=(const LoadingGuard&) = delete;
    ~LoadingGuard() { g_loading[0] = '\0'; }
};

void check_header(const plinth_plugin_descriptor& d) {
    if (d.abi_major != PLINTH_ABI_MAJOR)
        throw DescriptorError("incompatible plugin: descriptor says ABI major " + std::to_string(d.abi_major) +
                              " under the entry symbol of major " + std::to_string(PLINTH_ABI_MAJOR));
    if (d.abi_minor > PLINTH_ABI_MINOR)
        throw DescriptorError("incompatible plugin: built for plinth ABI " + std::to_string(d.abi_major) + "." +
                              std::to_string(d.abi_minor) + ", this plinth supports up to " +
                              std::to_string(PLINTH_ABI_MAJOR) + "." + std::to_string(PLINTH_ABI_MINOR));
    if (d.struct_size < kDescriptorMin)
        throw DescriptorError("incompatible plugin: descriptor struct_size " + std::to_string(d.struct_size) +
                              " is smaller than " + std::to_string(kDescriptorMin) + ", the size in plinth ABI 1.0");
}

// The descriptor digest: copy_descriptor's walk, reading exactly what it reads (so that the load
// probe's child, which walks instead of copying, crashes where a copy would) and hashing it. Every
// value goes in with its length or a tag first, so that no two descriptors feed the same bytes.
// Throws DescriptorError where copy_descriptor would refuse for the shape of the data (a NULL
// array, a count past its limit, a string too long); values it refuses (an unknown foreign key
// action, an empty name) are only hashed: the copy refuses them.
class DigestWalk {
public:
    DigestWalk() : state_(XXH3_createState()) { XXH3_64bits_reset(state_); }
    ~DigestWalk() { XXH3_freeState(state_); }
    DigestWalk(const DigestWalk&) = delete;
    DigestWalk& operator=(const DigestWalk&) = delete;

    std::uint64_t digest(const plinth_plugin_descriptor& d) {
        if (!d.name) throw DescriptorError("descriptor has a NULL plugin name");
        Out p = buffer_;
        p = text(p, d.name);
        p = text(p, d.version);
        p = text(p, d.schema);
        p = names(p, d.required_plugins, d.required_plugin_count);
        p = number(p, (d.init ? 1u : 0u) | (d.start ? 2u : 0u) | (d.stop ? 4u : 0u) |
                          (d.struct_size >= kDescriptorUpgradeEnd && d.upgrade ? 8u : 0u));
        p = number(p, d.table_count);
        const Context what("tables");
        const StructArray<plinth_table> tables(d.tables, d.table_count, kMaxTables, kTableMin, what);
        for (std::uint32_t i = 0; i < tables.size(); ++i) p = table(p, tables[i]);
        flush(p);
        return XXH3_64bits_digest(state_);
    }

private:
    // A descriptor feeds hundreds of thousands of values of a few bytes each: gathered in buffer_,
    // they go to XXH3 in large blocks (its streaming digest does not depend on how the input is
    // split). The position in buffer_ is passed from call to call rather than kept in a member:
    // a member would be reloaded after every byte stored, a chain through memory of each value.
    using Out = unsigned char*;

    [[gnu::noinline]] Out flush(Out p) {
        XXH3_64bits_update(state_, buffer_, static_cast<std::size_t>(p - buffer_));
        return buffer_;
    }
    std::size_t room(Out p) const { return static_cast<std::size_t>(buffer_ + sizeof buffer_ - p); }
    [[gnu::always_inline]] Out bytes(Out p, const void* data, std::size_t size) {
        if (size > room(p)) {
            p = flush(p);
            if (size >= sizeof buffer_) {
                XXH3_64bits_update(state_, data, size);
                return p;
            }
        }
        std::memcpy(p, data, size);
        return p + size;
    }
    // Most of what a descriptor feeds: a fixed-size copy the compiler makes a single store.
    [[gnu::always_inline]] Out number(Out p, std::uint64_t n) {
        if (sizeof n > room(p)) p = flush(p);
        std::memcpy(p, &n, sizeof n);
        return p + sizeof n;
    }
#if defined(__SSE2__)
    // 32 bytes from `s`, which the caller knows lie on one page. They may run past the end of the
    // string and of its allocation, so AddressSanitizer is told not to check them: the suite, which
    // runs sanitized, then runs this path too.
#if defined(PLINTH_ASAN)
    [[gnu::noinline]] __attribute__((no_sanitize("address")))
#else
    [[gnu::always_inline]]
#endif
    static void load_32(const char* s, __m128i& low, __m128i& high) {
        low = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
        high = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 16));
    }
#endif
    [[gnu::always_inline]] Out text(Out p, const char* s) {
        if (!s) return number(p, ~std::uint64_t(0));
#if defined(__SSE2__)
        // A string shorter than 32 bytes, most of a descriptor's, without a call to strnlen and one
        // to memcpy: 32 bytes read at once (never across a page boundary, so never from a page the
        // string does not reach), its end found among them, and all 32 stored; only its length
        // and its bytes count, the same bytes as long_text's.
        constexpr std::size_t kPage = 4096, kWidth = 32;
        if ((reinterpret_cast<std::uintptr_t>(s) & (kPage - 1)) <= kPage - kWidth &&
            room(p) >= sizeof(std::uint64_t) + kWidth) {
            __m128i low, high;
            load_32(s, low, high);
            const __m128i zero = _mm_setzero_si128();
            const auto ends = static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(low, zero))) |
                              static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(high, zero))) << 16;
            if (ends != 0) {
                const auto n = static_cast<std::uint64_t>(__builtin_ctz(ends));
                std::memcpy(p, &n, sizeof n);
                _mm_storeu_si128(reinterpret_cast<__m128i*>(p + sizeof n), low);
                _mm_storeu_si128(reinterpret_cast<__m128i*>(p + sizeof n + 16), high);
                return p + sizeof n + n;
            }
        }
#endif
        return long_text(p, s);
    }
    [[gnu::noinline]] Out long_text(Out p, const char* s) {
        const std::size_t n = ::strnlen(s, kMaxString + 1);
        if (n > kMaxString) throw DescriptorError("a string is longer than 1 MiB");
        p = number(p, n);
        return bytes(p, s, n);
    }
    [[gnu::always_inline]] Out names(Out p, const char* const* list, std::uint32_t count) {
        check_array(list, count, kMaxItems, Context("names"));
        p = number(p, count);
        for (std::uint32_t i = 0; i < count; ++i) {
            if (!list[i]) throw DescriptorError("a name is NULL");
            p = text(p, list[i]);
        }
        return p;
    }
    // A declaration's file name is a string literal of the plugin, the same pointer for each
    // declaration of one source file: after the first, that pointer feeds "the file just before"
    // (a value no text can feed, a length over 1 MiB). The same descriptor still gives the same
    // digest and different texts different ones; equal texts at different addresses merely differ.
    template <class T> [[gnu::always_inline]] Out source(Out p, const T& e) {
        if (e.struct_size < kSourceEnd<T> || !e.source_file) return number(p, 0);
        if (e.source_file == last_source_file_) {
            p = number(p, kSameSourceFile);
        } else {
            p = text(p, e.source_file);
            last_source_file_ = e.source_file;
        }
        return number(p, e.source_line);
    }
    template <class T> [[gnu::always_inline]] Out renamed_from(Out p, const T& e) {
        if (e.struct_size < kRenamedFromEnd<T>) return number(p, 1);
        return text(p, e.renamed_from);
    }

    Out table(Out p, const plinth_table& t) {
        p = text(p, t.name);
        p = source(p, t);
        p = renamed_from(p, t);
        p = number(p, t.column_count);
        const Context columns_what("columns");
        const StructArray<plinth_column> columns(t.columns, t.column_count, kMaxItems, kColumnMin, columns_what);
        for (std::uint32_t i = 0; i < columns.size(); ++i) {
            const plinth_column& c = columns[i];
            p = text(p, c.name);
            p = text(p, c.type);
            p = text(p, c.default_sql);
            p = number(p, c.flags);
            p = source(p, c);
            if (c.struct_size >= kColumnDataEnd) {
                p = text(p, c.backfill);
                p = text(p, c.using_expression);
            } else {
                p = number(p, 2);
            }
            p = renamed_from(p, c);
        }
        p = names(p, t.primary_key, t.primary_key_count);
        p = text(p, t.primary_key_name);
        p = number(p, t.unique_count);
        const Context uniques_what("uniques");
        const StructArray<plinth_unique> uniques(t.uniques, t.unique_count, kMaxItems, kUniqueMin, uniques_what);
        for (std::uint32_t i = 0; i < uniques.size(); ++i) {
            const plinth_unique& u = uniques[i];
            p = text(p, u.name);
            p = names(p, u.columns, u.column_count);
            p = source(p, u);
        }
        p = number(p, t.index_count);
        const Context indexes_what("indexes");
        const StructArray<plinth_index> indexes(t.indexes, t.index_count, kMaxItems, kIndexMin, indexes_what);
        for (std::uint32_t i = 0; i < indexes.size(); ++i) p = index(p, indexes[i]);
        p = number(p, t.foreign_key_count);
        const Context foreign_keys_what("foreign_keys");
        const StructArray<plinth_foreign_key> foreign_keys(t.foreign_keys, t.foreign_key_count, kMaxItems,
                                                           kForeignKeyMin, foreign_keys_what);
        for (std::uint32_t i = 0; i < foreign_keys.size(); ++i) {
            const plinth_foreign_key& f = foreign_keys[i];
            p = text(p, f.name);
            p = names(p, f.columns, f.column_count);
            p = text(p, f.ref_schema);
            p = text(p, f.ref_table);
            p = f.ref_columns ? names(p, f.ref_columns, f.column_count) : number(p, 5);
            p = number(p, f.on_delete);
            p = number(p, f.on_update);
            p = source(p, f);
        }
        p = number(p, t.check_count);
        const Context checks_what("checks");
        const StructArray<plinth_check> checks(t.checks, t.check_count, kMaxItems, kCheckMin, checks_what);
        for (std::uint32_t i = 0; i < checks.size(); ++i) {
            const plinth_check& c = checks[i];
            p = text(p, c.name);
            p = text(p, c.expression);
            p = source(p, c);
        }
        return p;
    }
    Out index(Out p, const plinth_index& x) {
        p = text(p, x.name);
        p = number(p, x.flags);
        p = text(p, x.method);
        p = names(p, x.keys, x.key_count);
        p = text(p, x.predicate);
        p = source(p, x);
        if (x.struct_size < kIndexOptionsEnd) return number(p, 3);
        if (x.opclasses) {
            check_array(x.opclasses, x.key_count, kMaxItems, Context("opclasses"));
            for (std::uint32_t i = 0; i < x.key_count; ++i) p = text(p, x.opclasses[i]);
        } else {
            p = number(p, 4);
        }
        p = names(p, x.option_names, x.option_count);
        return names(p, x.option_values, x.option_count);
    }

    XXH3_state_t* state_;
    static constexpr std::uint64_t kSameSourceFile = ~std::uint64_t(1);
    const char* last_source_file_ = nullptr;
    alignas(64) unsigned char buffer_[16384];
};

}  // namespace

std::optional<std::uint64_t> descriptor_digest(const plinth_plugin_descriptor& descriptor) {
    try {
        check_header(descriptor);
        return DigestWalk().digest(descriptor);
    } catch (const DescriptorError&) {
        return std::nullopt;
    }
}

namespace {

// load_file, giving back the file's exported symbols as inspect_elf_file read them (one opening of
// the file serves the check before dlopen, the entry symbol's kind and check_exports' warning).
bool load_inspected(const std::filesystem::path& file, model::Plugin& plugin, Refusal& refusal,
                    std::optional<std::vector<ElfSymbol>>& symbols) {
    refusal.file = file.string();
    auto facts = inspect_elf_file(file);
    if (facts.problem) {
        refusal.reason = "not a loadable shared object: " + *facts.problem;
        return false;
    }
    symbols = std::move(facts.symbols);
    const auto id = file_id(file);
    if (!id) {
        refusal.reason = std::string("cannot read the file: ") + std::strerror(errno);
        return false;
    }
    auto& libraries = loaded_libraries();
    std::lock_guard lock(libraries.mu);
    const LoadingGuard loading(file);
    auto& library = libraries.by_file[*id];
    if (!library) {
        auto fresh = std::make_shared<boost::dll::shared_library>();
        g_library_opened.store(true);
        try {
            fresh->load(file, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
        } catch (const std::exception& e) {
            libraries.by_file.erase(*id);
            refusal.reason = "not a loadable shared object: " + loader_message(e);
            return false;
        }
        library = std::move(fresh);
    }
    if (!library->has(PLINTH_ENTRY_SYMBOL)) {
        for (int major = 0; major <= 16; ++major) {
            if (major == PLINTH_ABI_MAJOR) continue;
            if (library->has(PLINTH_ENTRY_SYMBOL_PREFIX + std::to_string(major))) {
                refusal.reason = "incompatible plugin: built for plinth ABI major " + std::to_string(major) +
                                 ", this plinth supports major " + std::to_string(PLINTH_ABI_MAJOR);
                return false;
            }
        }
        refusal.reason = std::string("not a plinth plugin: symbol ") + PLINTH_ENTRY_SYMBOL +
                         " not found (export it with PLINTH_PLUGIN from plinth/plinth.hpp)";
        return false;
    }
    // Called blindly, an entry symbol naming data would jump into it.
    if (auto bad = check_function_symbol(symbols, PLINTH_ENTRY_SYMBOL)) {
        refusal.reason = "not a plinth plugin: " + *bad + " (export it with PLINTH_PLUGIN from plinth/plinth.hpp)";
        return false;
    }
    auto entry = library->get<const plinth_plugin_descriptor*()>(PLINTH_ENTRY_SYMBOL);
    const plinth_plugin_descriptor* descriptor = nullptr;
    try {
        descriptor = entry();
    } catch (...) {
        // The ABI forbids it; a plugin built without the SDK may still do it.
        refusal.reason = std::string(PLINTH_ENTRY_SYMBOL) + " threw a C++ exception across the plugin ABI";
        return false;
    }
    if (!descriptor) {
        refusal.reason = std::string(PLINTH_ENTRY_SYMBOL) + " returned NULL (the plugin could not build its descriptor)";
        return false;
    }
    if (!copy_plugin(*descriptor, file.string(), plugin, refusal)) return false;
    plugin.lifecycle.library = library;
    return true;
}

std::optional<Warning> exports_warning(const std::filesystem::path& file,
                                       const std::optional<std::vector<ElfSymbol>>& symbols) {
    if (!symbols) return std::nullopt;
    const auto others = std::count_if(symbols->begin(), symbols->end(),
                                      [](const ElfSymbol& symbol) { return symbol.name != PLINTH_ENTRY_SYMBOL; });
    if (others == 0) return std::nullopt;
    const std::string count = std::to_string(others) + (others == 1 ? " dynamic symbol" : " dynamic symbols");
    return Warning{file.string(), "exports " + count + " besides " PLINTH_ENTRY_SYMBOL
                                  "; build with -fvisibility=hidden and -Wl,--version-script=plinth_plugin.map (the "
                                  "SDK's export map), as plinth_add_plugin and the plinth-sdk pkg-config flags do"};
}

}  // namespace

bool load_file(const std::filesystem::path& file, model::Plugin& plugin, Refusal& refusal) {
    std::optional<std::vector<ElfSymbol>> symbols;
    return load_inspected(file, plugin, refusal, symbols);
}

bool plugin_library_opened() { return g_library_opened.load(); }

bool copy_plugin(const plinth_plugin_descriptor& descriptor, const std::string& file, model::Plugin& plugin,
                 Refusal& refusal) {
    refusal.file = file;
    try {
        check_header(descriptor);
        plugin = model::Plugin{};
        plugin.file = file;
        copy_descriptor(descriptor, plugin);
        plugin.digest = descriptor_digest(descriptor);
    } catch (const DescriptorError& e) {
        refusal.reason = e.what();
        return false;
    }
    return true;
}

std::optional<Warning> check_exports(const std::filesystem::path& file) {
    return exports_warning(file, inspect_elf_file(file).symbols);
}

namespace {

// Why a directory entry named *.so cannot be a plugin file, or nullopt when it is a regular file
// (itself or through its links). Never opens it: opening a FIFO would block.
std::optional<std::string> not_a_plugin_file(const std::filesystem::directory_entry& entry) {
    std::error_code ec;
    const auto link = entry.symlink_status(ec);
    if (ec) return "cannot be read: " + ec.message();
    const auto target = entry.status(ec);
    if (ec) {
        if (link.type() == std::filesystem::file_type::symlink && ec == std::errc::no_such_file_or_directory) {
            std::error_code ignored;
            return "a symbolic link to " + std::filesystem::read_symlink(entry.path(), ignored).string() +
                   ", which does not exist";
        }
        if (ec == std::errc::too_many_symbolic_link_levels) return "a symbolic link that never ends (a loop of links)";
        return "cannot be read: " + ec.message();
    }
    switch (target.type()) {
    case std::filesystem::file_type::regular: return std::nullopt;
    case std::filesystem::file_type::directory: return std::string("a folder, not a shared object");
    case std::filesystem::file_type::fifo: return std::string("a FIFO, not a shared object");
    case std::filesystem::file_type::socket: return std::string("a socket, not a shared object");
    case std::filesystem::file_type::block:
    case std::filesystem::file_type::character: return std::string("a device, not a shared object");
    default: return std::string("not a regular file");
    }
}

}  // namespace

LoadResult load_folder(const std::filesystem::path& folder, const Screen& screen) {
    std::error_code ec;
    if (!std::filesystem::is_directory(folder, ec))
        throw std::runtime_error("plugins folder " + folder.string() + " does not exist or is not a folder");
    std::vector<std::filesystem::path> files;
    std::vector<Refusal> refused;  // entries that are no file to load, merged in name order below
    // Error codes throughout: one odd entry is that entry's refusal, never an end to the scan.
    std::filesystem::directory_iterator it(folder, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        if (it->path().extension() != ".so") continue;
        if (auto bad = not_a_plugin_file(*it)) refused.push_back({it->path().string(), *bad});
        else files.push_back(it->path());
    }
    if (ec) throw std::runtime_error("cannot read plugins folder " + folder.string() + ": " + ec.message());
    std::sort(files.begin(), files.end());

    LoadResult result;
    std::map<FileId, std::filesystem::path> seen;
    for (const auto& file : files) {
        if (screen)
            if (auto why = screen(file)) {
                result.refusals.push_back({file.string(), std::move(*why)});
                continue;
            }
        if (const auto id = file_id(file)) {
            const auto [first, inserted] = seen.emplace(*id, file);
            if (!inserted) {
                result.refusals.push_back({file.string(), "the same file as " + first->second.string() +
                                                              " (a symbolic or hard link to it): loaded once, as " +
                                                              first->second.filename().string()});
                continue;
            }
        }
        model::Plugin plugin;
        Refusal refusal;
        std::optional<std::vector<ElfSymbol>> symbols;
        if (load_inspected(file, plugin, refusal, symbols)) {
            result.plugins.push_back(std::move(plugin));
            if (auto warning = exports_warning(file, symbols)) result.warnings.push_back(std::move(*warning));
        } else {
            result.refusals.push_back(std::move(refusal));
        }
    }
    result.refusals.insert(result.refusals.end(), refused.begin(), refused.end());
    std::stable_sort(result.refusals.begin(), result.refusals.end(),
                     [](const Refusal& a, const Refusal& b) { return a.file < b.file; });
    return result;
}

}  // namespace plinth::load
