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

}  // namespace plinth::pg
