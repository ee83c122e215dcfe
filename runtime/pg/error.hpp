// Every failure of the PostgreSQL layer: server errors with their diagnostic fields, and connection
// failures (SQLSTATE classified from libpq's message, see connection.hpp).
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

namespace plinth::pg {

struct ErrorFields {
    std::string severity = "ERROR";  // non-localized: ERROR, FATAL, PANIC
    std::string sqlstate;            // may be empty for client-side failures
    std::string message;             // primary message
    std::string detail;
    std::string hint;
    std::string context;
    std::string statement;  // the SQL text that failed, empty for connection failures
    std::string schema_name;
    std::string table_name;
    std::string column_name;
    std::string constraint_name;
};

class Error : public std::runtime_error {
public:
    explicit Error(ErrorFields fields);

    const std::string& sqlstate() const noexcept { return fields_->sqlstate; }
    const std::string& statement() const noexcept { return fields_->statement; }
    const std::string& message() const noexcept { return fields_->message; }
    const std::string& detail() const noexcept { return fields_->detail; }
    const std::string& hint() const noexcept { return fields_->hint; }
    const ErrorFields& fields() const noexcept { return *fields_; }

private:
    // Shared so that copying the exception cannot throw.
    std::shared_ptr<const ErrorFields> fields_;
};

// "ERROR 42P01: relation "x" does not exist\n  statement: ...\n  detail: ...\n  hint: ..."
std::string format_error(const ErrorFields& fields);

}  // namespace plinth::pg
