#include "load/digest.hpp"

#include <string_view>

#include <xxhash.h>

namespace plinth::load {
namespace {

// Every value goes in with its length or a tag first, so that no two declarations feed the same bytes.
class Feed {
public:
    Feed() : state_(XXH3_createState()) { XXH3_64bits_reset(state_); }
    ~Feed() { XXH3_freeState(state_); }
    Feed(const Feed&) = delete;
    Feed& operator=(const Feed&) = delete;

    void tag(char t) { XXH3_64bits_update(state_, &t, 1); }
    void number(std::uint64_t n) { XXH3_64bits_update(state_, &n, sizeof n); }
    void text(std::string_view s) {
        number(s.size());
        XXH3_64bits_update(state_, s.data(), s.size());
    }
    void optional(const std::optional<std::string>& s) {
        tag(s ? 'S' : 'N');
        if (s) text(*s);
    }
    void list(const std::vector<std::string>& items) {
        number(items.size());
        for (const auto& s : items) text(s);
    }
    std::uint64_t digest() const { return XXH3_64bits_digest(state_); }

private:
    XXH3_state_t* state_;
};

}  // namespace

std::uint64_t declaration_digest(const model::Plugin& p) {
    Feed f;
    f.text(p.name);
    f.text(p.version);
    f.text(p.schema);
    f.list(p.requires_plugins);
    f.number((p.lifecycle.init ? 1u : 0u) | (p.lifecycle.start ? 2u : 0u) | (p.lifecycle.stop ? 4u : 0u) |
             (p.lifecycle.upgrade ? 8u : 0u));
    f.number(p.tables.size());
    for (const auto& t : p.tables) {
        f.tag('T');
        f.text(t.schema);
        f.text(t.name);
        f.optional(t.renamed_from);
        f.number(t.columns.size());
        for (const auto& c : t.columns) {
            f.text(c.name);
            f.text(c.type);
            f.optional(c.default_sql);
            f.number(c.not_null ? 1 : 0);
            f.optional(c.backfill);
            f.optional(c.using_expression);
            f.optional(c.renamed_from);
        }
        f.text(t.primary_key_name);
        f.list(t.primary_key);
        f.number(t.uniques.size());
        for (const auto& u : t.uniques) {
            f.text(u.name);
            f.list(u.columns);
        }
        f.number(t.indexes.size());
        for (const auto& i : t.indexes) {
            f.text(i.name);
            f.number(i.unique ? 1 : 0);
            f.text(i.method);
            f.list(i.keys);
            f.optional(i.predicate);
            f.list(i.opclasses);
            f.number(i.options.size());
            for (const auto& [name, value] : i.options) {
                f.text(name);
                f.text(value);
            }
        }
        f.number(t.foreign_keys.size());
        for (const auto& k : t.foreign_keys) {
            f.text(k.name);
            f.list(k.columns);
            f.text(k.ref_schema);
            f.text(k.ref_table);
            f.list(k.ref_columns);
            f.number(static_cast<std::uint64_t>(k.on_delete));
            f.number(static_cast<std::uint64_t>(k.on_update));
        }
        f.number(t.checks.size());
        for (const auto& c : t.checks) {
            f.text(c.name);
            f.text(c.expression);
        }
    }
    return f.digest();
}

}  // namespace plinth::load
