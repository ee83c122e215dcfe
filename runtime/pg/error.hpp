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

    // The SQLSTATE classes plinth acts on (appendix A of the PostgreSQL manual).
    // 55P03 lock_not_available or 40P01 deadlock_detected: a retry may succeed.
    bool is_lock_failure() const noexcept;
    // Class 08 (connection exception) or 57P01/57P02 (the server ended the session): the
    // connection is gone, and with it any open transaction.
    bool is_connection_lost() const noexcept;
    // 08001 (nothing listening, given by plinth) or 57P03 (starting or shutting down): worth waiting.
    bool is_server_not_ready() const noexcept;
    // 42P01 undefined_table or 3F000 invalid_schema_name: an object that does not exist yet.
    bool is_undefined_relation() const noexcept;

private:
    // Shared so that copying the exception cannot throw.
    std::shared_ptr<const ErrorFields> fields_;
};

// The connection was lost while COMMIT was under way: the server may or may not have committed,
// and only reading back what the transaction wrote, on a new connection, can tell which.
class CommitInDoubt : public Error {
public:
    using Error::Error;
};

// "ERROR 42P01: relation "x" does not exist\n  statement: ...\n  detail: ...\n  hint: ..."
std::string format_error(const ErrorFields& fields);

}  // namespace plinth::pg
