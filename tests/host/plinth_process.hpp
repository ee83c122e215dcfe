// A `plinth` child process for the end-to-end tests of `plinth run`, and small file helpers.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.hpp"

namespace plinth::test {

// A `plinth` child process with stdout and stderr in a file.
class PlinthProcess {
public:
    PlinthProcess(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                  std::filesystem::path output)
        : output_(std::move(output)) {
        std::vector<std::string> argv{required_env("PLINTH_EXE")};
        argv.insert(argv.end(), args.begin(), args.end());
        // Everything is prepared before fork: the child only does async-signal-safe calls.
        std::map<std::string, std::string> merged;
        for (char** e = environ; *e; ++e) {
            const std::string entry(*e);
            const auto eq = entry.find('=');
            if (eq != std::string::npos) merged[entry.substr(0, eq)] = entry.substr(eq + 1);
        }
        for (const auto& [name, value] : env) merged[name] = value;
        std::vector<std::string> envp_text;
        for (const auto& [name, value] : merged) envp_text.push_back(name + "=" + value);
        std::vector<char*> raw_argv, raw_envp;
        for (auto& a : argv) raw_argv.push_back(a.data());
        raw_argv.push_back(nullptr);
        for (auto& e : envp_text) raw_envp.push_back(e.data());
        raw_envp.push_back(nullptr);
        const int fd = ::open(output_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        REQUIRE(fd >= 0);
        sigset_t none;
        sigemptyset(&none);
        pid_ = ::fork();
        if (pid_ == 0) {
            sigprocmask(SIG_SETMASK, &none, nullptr);
            ::dup2(fd, 1);
            ::dup2(fd, 2);
            ::execve(raw_argv[0], raw_argv.data(), raw_envp.data());
            ::_exit(127);
        }
        ::close(fd);
        REQUIRE(pid_ > 0);
    }
    PlinthProcess(const PlinthProcess&) = delete;
    PlinthProcess& operator=(const PlinthProcess&) = delete;
    ~PlinthProcess() {
        if (!exit_code_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }

    pid_t pid() const { return pid_; }
    void signal(int sig) const { REQUIRE(::kill(pid_, sig) == 0); }

    // The exit code (128 + signal when killed), or nullopt when it has not exited within `bound`.
    std::optional<int> wait(std::chrono::milliseconds bound = std::chrono::seconds(60)) {
        eventually(
            [&] {
                int status = 0;
                if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
                exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                return true;
            },
            bound);
        return exit_code_;
    }

    std::string output() const {
        std::ifstream in(output_);
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }
    std::vector<std::string> lines() const {
        std::vector<std::string> out;
        std::istringstream in(output());
        for (std::string line; std::getline(in, line);) out.push_back(line);
        return out;
    }
    long position(const std::string& needle) const { return plinth::test::line_position(lines(), needle); }

private:
    std::filesystem::path output_;
    pid_t pid_ = -1;
    std::optional<int> exit_code_;
};

inline bool file_exists(const std::filesystem::path& p) {
    std::error_code ec;
    return std::filesystem::exists(p, ec);
}

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::string text;
    std::getline(in, text);
    return text;
}


}  // namespace plinth::test
