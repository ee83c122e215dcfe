#include "pg/conninfo.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <vector>

#include <libpq-fe.h>

namespace plinth::pg {

namespace {

constexpr std::string_view kMask = "***";

// libpq's own rule for telling a URI from key=value (fe-connect.c, uri_prefix_length).
std::size_t uri_prefix_length(std::string_view s) {
    for (std::string_view prefix : {"postgresql://", "postgres://"})
        if (s.starts_with(prefix)) return prefix.size();
    return 0;
}

std::string percent_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() &&
            std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

struct Redacted {
    std::string text;
    std::vector<std::string> raw_passwords;  // as written in the input, before any decoding
};

Redacted redact_uri(std::string_view s, std::size_t prefix) {
    Redacted r;
    std::size_t pos = prefix;
    // Like libpq: user info ends at '@' and is looked for only before the first '/'.
    std::size_t end = pos;
    while (end < s.size() && s[end] != '@' && s[end] != '/') ++end;
    if (end == s.size() || s[end] != '@') {
        // libpq would not take it for user info, but a password with an unencoded '/' was meant.
        const auto at = s.rfind('@', s.find('?', pos));
        end = at != std::string_view::npos && at >= pos ? at : s.size();
    }
    if (end < s.size()) {
        const auto colon = s.substr(pos, end - pos).find(':');
        if (colon != std::string_view::npos) {
            r.text.append(s.substr(0, pos + colon + 1)).append(kMask);
            r.raw_passwords.emplace_back(s.substr(pos + colon + 1, end - pos - colon - 1));
            pos = end;
        }
    }
    if (r.text.empty()) r.text.append(s.substr(0, pos));
    const auto query = s.find('?', pos);
    r.text.append(s.substr(pos, query == std::string_view::npos ? s.npos : query - pos));
    if (query == std::string_view::npos) return r;
    std::size_t p = query;
    while (p < s.size()) {  // p sits on '?' or '&'
        r.text += s[p++];
        const auto amp = std::min(s.find('&', p), s.size());
        const auto param = s.substr(p, amp - p);
        const auto eq = param.find('=');
        if (eq != std::string_view::npos && percent_decode(param.substr(0, eq)) == "password") {
            r.text.append(param.substr(0, eq + 1)).append(kMask);
            r.raw_passwords.emplace_back(param.substr(eq + 1));
        } else {
            r.text.append(param);
        }
        p = amp;
    }
    return r;
}

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// Follows libpq's conninfo_parse: key [ws] = [ws] value, value either 'quoted' or bare, both with
// backslash escapes.
Redacted redact_key_value(std::string_view s) {
    Redacted r;
    std::size_t p = 0;
    while (p < s.size()) {
        const std::size_t start = p;
        while (p < s.size() && is_space(s[p])) ++p;
        if (p == s.size()) {
            r.text.append(s.substr(start));
            break;
        }
        const std::size_t key_begin = p;
        while (p < s.size() && !is_space(s[p]) && s[p] != '=') ++p;
        const auto key = s.substr(key_begin, p - key_begin);
        while (p < s.size() && is_space(s[p])) ++p;
        if (p == s.size() || s[p] != '=') {  // unparsable: the rest could be a secret
            r.text.append(s.substr(start, key_begin - start)).append(kMask);
            r.raw_passwords.emplace_back(s.substr(key_begin));
            return r;
        }
        ++p;
        while (p < s.size() && is_space(s[p])) ++p;
        const std::size_t value_begin = p;
        std::string value;
        bool closed = true;
        if (p < s.size() && s[p] == '\'') {
            closed = false;
            for (++p; p < s.size(); ++p) {
                if (s[p] == '\\' && p + 1 < s.size()) {
                    value += s[++p];
                } else if (s[p] == '\'') {
                    ++p;
                    closed = true;
                    break;
                } else {
                    value += s[p];
                }
            }
        } else {
            for (; p < s.size() && !is_space(s[p]); ++p) {
                if (s[p] == '\\' && p + 1 < s.size()) ++p;
                value += s[p];
            }
        }
        if (key == "password" || !closed) {
            r.text.append(s.substr(start, value_begin - start)).append(kMask);
            r.raw_passwords.emplace_back(s.substr(value_begin, p - value_begin));
            r.raw_passwords.push_back(value);
            if (!closed) return r;
        } else if (key == "dbname" &&
                   (uri_prefix_length(value) > 0 || value.find('=') != std::string::npos)) {
            // libpq expands a conninfo given as dbname, so it may hold a password too.
            auto inner = uri_prefix_length(value) > 0 ? redact_uri(value, uri_prefix_length(value))
                                                      : redact_key_value(value);
            std::string quoted;
            for (char c : inner.text) {
                if (c == '\'' || c == '\\') quoted += '\\';
                quoted += c;
            }
            r.text.append(s.substr(start, value_begin - start)).append("'" + quoted + "'");
            for (auto& pw : inner.raw_passwords) r.raw_passwords.push_back(std::move(pw));
        } else {
            r.text.append(s.substr(start, p - start));
        }
    }
    return r;
}

Redacted redact(std::string_view conninfo) {
    const auto prefix = uri_prefix_length(conninfo);
    return prefix > 0 ? redact_uri(conninfo, prefix) : redact_key_value(conninfo);
}

void replace_all(std::string& text, const std::string& needle) {
    if (needle.empty()) return;
    for (auto at = text.find(needle); at != std::string::npos;
         at = text.find(needle, at + kMask.size()))
        text.replace(at, needle.size(), kMask);
}

}  // namespace

std::string redact_conninfo(std::string_view conninfo) { return redact(conninfo).text; }

std::string scrub_password(std::string text, std::string_view conninfo) {
    auto secrets = redact(conninfo).raw_passwords;
    for (const auto& raw : std::vector<std::string>(secrets)) secrets.push_back(percent_decode(raw));
    // libpq's parse catches what our lexical pass might miss (e.g. a password given twice).
    const std::string copy(conninfo);
    char* err = nullptr;
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
        PQconninfoParse(copy.c_str(), &err), &PQconninfoFree);
    if (err) PQfreemem(err);
    for (auto* o = options.get(); o && o->keyword; ++o)
        if (std::string_view(o->keyword) == "password" && o->val) secrets.emplace_back(o->val);
    // Longest first, so a password containing another candidate is masked whole.
    std::sort(secrets.begin(), secrets.end(),
              [](const auto& a, const auto& b) { return a.size() > b.size(); });
    for (const auto& secret : secrets) replace_all(text, secret);
    return text;
}

}  // namespace plinth::pg
