#include "descriptor_input.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "load/loader.hpp"
#include "order/order.hpp"
#include "validate/validator.hpp"

namespace plinth::fuzz {
namespace {

// The input, read front to back; past its end every read is 0, so every prefix decodes to a graph.
class Input {
public:
    Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    std::uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
    std::uint32_t u32() {
        std::uint32_t value = 0;
        for (int i = 0; i < 4; ++i) value = value << 8 | byte();
        return value;
    }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t at_ = 0;
};

// The blocks a graph is made of, each an allocation of exactly the size the descriptor claims for it
// (zeroed), so that reading a byte past an array or a string is an AddressSanitizer report.
class Arena {
public:
    unsigned char* bytes(std::size_t size) {
        blocks_.push_back(std::make_unique<unsigned char[]>(size));
        return blocks_.back().get();
    }
    const char* string(std::string_view text) {
        auto* block = bytes(text.size() + 1);
        std::memcpy(block, text.data(), text.size());
        return reinterpret_cast<const char*>(block);
    }

private:
    std::vector<std::unique_ptr<unsigned char[]>> blocks_;
};

// Words the validator knows, so that inputs reach past "not an identifier" to its deeper checks.
constexpr std::array<std::string_view, 40> kWords = {
    "id", "name", "widgets", "agents", "core", "notes", "app", "public", "text", "bigint", "integer",
    "uuid", "vector(3)", "varchar(64)", "timestamptz", "jsonb", "text[]", "numeric(10,2)", "now()",
    "gen_random_uuid()", "0", "id > 0", "(lower(name))", "btree", "hnsw", "ivfflat", "gin",
    "vector_cosine_ops", "m", "16", "lists", "1.0.0", "", "ctid", "a; DROP TABLE x", "'", "pg_catalog",
    "widgets_pkey", "serial", "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd",
};

// A string of the graph: NULL, a pointer into the middle of a string made before, a known word or
// bytes of the input, always NUL-terminated as the ABI requires; rarely one past the loader's 1 MiB.
class Strings {
public:
    Strings(Input& in, Arena& arena) : in_(in), arena_(arena) {}
    const char* next() {
        const std::uint8_t kind = in_.byte();
        const char* made = nullptr;
        // Two bytes to ask for it: a megabyte each time 255 comes up would slow every run down.
        if (kind == 255 && in_.byte() == 0xa5) {
            made = arena_.string(std::string((1u << 20) + 1, 'a'));
        } else {
            switch (kind % 8) {
            case 0: return nullptr;
            case 1:
                if (!made_.empty()) {
                    const char* earlier = made_[in_.byte() % made_.size()];
                    return earlier + std::min<std::size_t>(in_.byte(), std::strlen(earlier));
                }
                [[fallthrough]];
            case 2: case 3: case 4: case 5: made = arena_.string(kWords[in_.byte() % kWords.size()]); break;
            default: {
                std::string text(in_.byte() % 80, '\0');
                for (auto& c : text) c = static_cast<char>(in_.byte());
                made = arena_.string(text);
            }
            }
        }
        made_.push_back(made);
        return made;
    }

private:
    Input& in_;
    Arena& arena_;
    std::vector<const char*> made_;
};

// An array's length: the count the descriptor claims and the elements really there. Mostly a small
// true count; sometimes a count past every loader limit with nothing behind it, which the loader
// must refuse on the count alone.
struct Count {
    std::uint32_t claimed;
    std::uint32_t real;
};

Count count(Input& in) {
    const std::uint8_t b = in.byte();
    if (b < 240) return {b % 5u, b % 5u};
    constexpr std::array<std::uint32_t, 4> kPastLimits = {10001, 65536, 0x7fffffff, 0xffffffff};
    return {kPastLimits[b % kPastLimits.size()], 0};
}

// A name array (const char* const*): NULL, or the real count of entries in its own block.
struct Names {
    const char* const* array;
    std::uint32_t claimed;
    std::uint32_t real;
};

const char* const* names_of(Arena& arena, Strings& strings, std::uint32_t real) {
    auto* array = reinterpret_cast<const char**>(arena.bytes(std::size_t(real) * sizeof(const char*)));
    for (std::uint32_t i = 0; i < real; ++i) array[i] = strings.next();
    return array;
}

Names names(Input& in, Arena& arena, Strings& strings) {
    const Count c = count(in);
    if (in.byte() % 16 == 0) return {nullptr, c.claimed, 0};
    return {names_of(arena, strings, c.real), c.claimed, c.real};
}

// An array of `real` names that another member counts (ref_columns, opclasses), or NULL.
const char* const* counted_names(Input& in, Arena& arena, Strings& strings, std::uint32_t real) {
    if (in.byte() % 4 == 0) return nullptr;
    return names_of(arena, strings, real);
}

#define FUZZ_END_OF(type, member) static_cast<std::uint32_t>(offsetof(type, member) + sizeof(type::member))
template <class T> constexpr std::uint32_t kSourceEnd = FUZZ_END_OF(T, source_reserved);
template <class T> struct Abi10;
template <> struct Abi10<plinth_column> { static constexpr std::uint32_t size = FUZZ_END_OF(plinth_column, default_sql); };
template <> struct Abi10<plinth_unique> { static constexpr std::uint32_t size = FUZZ_END_OF(plinth_unique, columns); };
template <> struct Abi10<plinth_index> { static constexpr std::uint32_t size = FUZZ_END_OF(plinth_index, reserved); };
template <> struct Abi10<plinth_foreign_key> { static constexpr std::uint32_t size = FUZZ_END_OF(plinth_foreign_key, on_update); };
template <> struct Abi10<plinth_check> { static constexpr std::uint32_t size = FUZZ_END_OF(plinth_check, expression); };
template <> struct Abi10<plinth_table> { static constexpr std::uint32_t size = FUZZ_END_OF(plinth_table, reserved); };
#undef FUZZ_END_OF

// The stride of a struct array: mostly this build's size; else an older or a newer minor's, one too
// small, one misaligned, one past the loader's cap, or any number.
template <class T> std::uint32_t stride(Input& in) {
    const std::uint8_t b = in.byte();
    if (b < 200) return sizeof(T);
    switch (b % 8) {
    case 0: return Abi10<T>::size;
    case 1: return kSourceEnd<T>;
    case 2: return sizeof(T) + 8;
    case 3: return Abi10<T>::size - 8;
    case 4: return sizeof(T) + 4;
    case 5: return 64 * sizeof(T) + 8;
    case 6: return 1u << 30;
    default: return in.u32();
    }
}

// An array of ABI structs, `fill` setting each element's members. With a stride a real array could
// have, `real` elements of that stride each cut to it, as a plugin of that minor lays them out;
// with a stride the loader must refuse from the first element alone (past 64 times this build's
// size), only that first element, as in a corrupt descriptor.
template <class T, class Fill>
const T* structs(Input& in, Arena& arena, std::uint32_t& claimed, Fill fill) {
    const Count c = count(in);
    claimed = c.claimed;
    if (in.byte() % 16 == 0) return nullptr;
    const std::uint32_t size = stride<T>(in);
    const bool walkable = size >= sizeof(std::uint32_t) && size <= 64 * sizeof(T);
    std::size_t block_size = 0;
    if (walkable) block_size = std::size_t(c.real) * size;
    else if (c.real > 0) block_size = std::max<std::size_t>(sizeof(std::uint32_t), std::min<std::size_t>(size, sizeof(T)));
    unsigned char* block = arena.bytes(block_size);
    for (std::uint32_t i = 0; i < c.real && (walkable || i == 0); ++i) {
        T element{};
        fill(element);
        element.struct_size = i == 0 || in.byte() < 250 ? size : in.u32();
        std::memcpy(block + std::size_t(i) * size, &element, std::min<std::size_t>({size, sizeof(T), block_size}));
    }
    return reinterpret_cast<const T*>(block);
}

class Graph {
public:
    Graph(Input& in, Arena& arena) : in_(in), arena_(arena), strings_(in, arena) {}

    const plinth_plugin_descriptor* descriptor() {
        plinth_plugin_descriptor d{};
        d.abi_major = in_.byte() < 250 ? PLINTH_ABI_MAJOR : in_.byte();
        d.abi_minor = in_.byte() % (PLINTH_ABI_MINOR + 2);
        const std::uint8_t b = in_.byte();
        d.struct_size = b < 230 ? sizeof d : b % 3 == 0 ? 16 : b % 3 == 1 ? sizeof d + 16 : in_.u32();
        d.name = strings_.next();
        d.version = strings_.next();
        d.schema = strings_.next();
        const Names required = names(in_, arena_, strings_);
        d.required_plugins = required.array;
        d.required_plugin_count = required.claimed;
        d.tables = structs<plinth_table>(in_, arena_, d.table_count, [&](plinth_table& t) { table(t); });
        // The loader reads the header (three members) whatever the size says, the rest only when the
        // size covers ABI 1.0.
        const std::size_t size = std::max<std::size_t>(3 * sizeof(std::uint32_t), std::min<std::size_t>(d.struct_size, sizeof d));
        auto* block = arena_.bytes(size);
        std::memcpy(block, &d, size);
        return reinterpret_cast<const plinth_plugin_descriptor*>(block);
    }

private:
    template <class T> void source(T& element) {
        element.source_file = strings_.next();
        element.source_line = in_.byte();
    }

    void table(plinth_table& t) {
        t.name = strings_.next();
        t.columns = structs<plinth_column>(in_, arena_, t.column_count, [&](plinth_column& c) {
            c.flags = in_.byte();
            c.name = strings_.next();
            c.type = strings_.next();
            c.default_sql = strings_.next();
            source(c);
        });
        const Names key = names(in_, arena_, strings_);
        t.primary_key = key.array;
        t.primary_key_count = key.claimed;
        t.primary_key_name = strings_.next();
        t.uniques = structs<plinth_unique>(in_, arena_, t.unique_count, [&](plinth_unique& u) {
            u.name = strings_.next();
            const Names columns = names(in_, arena_, strings_);
            u.columns = columns.array;
            u.column_count = columns.claimed;
            source(u);
        });
        t.indexes = structs<plinth_index>(in_, arena_, t.index_count, [&](plinth_index& x) {
            x.flags = in_.byte();
            x.name = strings_.next();
            x.method = strings_.next();
            const Names keys = names(in_, arena_, strings_);
            x.keys = keys.array;
            x.key_count = keys.claimed;
            x.predicate = strings_.next();
            source(x);
            x.opclasses = counted_names(in_, arena_, strings_, keys.real);
            const Names options = names(in_, arena_, strings_);
            x.option_names = options.array;
            x.option_count = options.claimed;
            x.option_values = counted_names(in_, arena_, strings_, options.real);
        });
        t.foreign_keys = structs<plinth_foreign_key>(in_, arena_, t.foreign_key_count, [&](plinth_foreign_key& f) {
            f.name = strings_.next();
            const Names columns = names(in_, arena_, strings_);
            f.columns = columns.array;
            f.column_count = columns.claimed;
            f.ref_schema = strings_.next();
            f.ref_table = strings_.next();
            f.ref_columns = counted_names(in_, arena_, strings_, columns.real);
            f.on_delete = action();
            f.on_update = action();
            source(f);
        });
        t.checks = structs<plinth_check>(in_, arena_, t.check_count, [&](plinth_check& c) {
            c.name = strings_.next();
            c.expression = strings_.next();
            source(c);
        });
        source(t);
    }

    std::uint32_t action() {
        const std::uint8_t b = in_.byte();
        return b < 250 ? b % (PLINTH_FK_SET_DEFAULT + 1) : in_.u32();
    }

    Input& in_;
    Arena& arena_;
    Strings strings_;
};

// A property every run must keep, checked in every build (an assert would vanish in a release one).
void expect(bool holds) {
    if (!holds) std::abort();
}

}  // namespace

DescriptorRun run_descriptor_input(const std::uint8_t* data, std::size_t size) {
    Input in(data, size);
    Arena arena;
    Graph graph(in, arena);
    const unsigned descriptors = 1 + in.byte() % 3;
    DescriptorRun run;
    std::vector<model::Plugin> copied;
    for (unsigned i = 0; i < descriptors; ++i) {
        const plinth_plugin_descriptor* descriptor = graph.descriptor();
        model::Plugin plugin;
        load::Refusal refusal;
        const std::string file = "fuzz" + std::to_string(i) + ".so";
        if (load::copy_plugin(*descriptor, file, plugin, refusal)) {
            expect(!plugin.name.empty() && plugin.file == file);
            copied.push_back(std::move(plugin));
        } else {
            expect(refusal.file == file && !refusal.reason.empty());
            run.refusals.push_back(refusal.reason);
        }
    }
    run.accepted = copied.size();
    const auto result = validate::validate(std::move(copied));
    for (const auto& problem : result.problems) expect(!problem.message.empty());
    for (const auto& skip : result.skipped) expect(!skip.reason.empty());
    // The pipeline orders what validation accepts; order() expects exactly that.
    order::order(result.plugins);
    return run;
}

}  // namespace plinth::fuzz
