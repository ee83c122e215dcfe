#include "pg/error.hpp"

namespace plinth::pg {

std::string format_error(const ErrorFields& f) {
    std::string out = f.severity.empty() ? std::string("ERROR") : f.severity;
    if (!f.sqlstate.empty()) out += " " + f.sqlstate;
    out += ": " + f.message;
    const auto line = [&out](const char* label, const std::string& value) {
        if (!value.empty()) out += std::string("\n  ") + label + ": " + value;
    };
    line("statement", f.statement);
    line("detail", f.detail);
    line("hint", f.hint);
    line("context", f.context);
    return out;
}

Error::Error(ErrorFields fields)
    : std::runtime_error(format_error(fields)),
      fields_(std::make_shared<const ErrorFields>(std::move(fields))) {}

bool Error::is_lock_failure() const noexcept {
    return sqlstate() == "55P03" || sqlstate() == "40P01";
}

bool Error::is_connection_lost() const noexcept {
    return sqlstate().starts_with("08") || sqlstate() == "57P01" || sqlstate() == "57P02";
}

bool Error::is_server_not_ready() const noexcept {
    return sqlstate() == "08001" || sqlstate() == "57P03";
}

bool Error::is_undefined_relation() const noexcept {
    return sqlstate() == "42P01" || sqlstate() == "3F000";
}

}  // namespace plinth::pg
