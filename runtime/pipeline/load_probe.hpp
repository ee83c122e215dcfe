// The load probe: every plugin file is first loaded in a forked child process, so that a library
// whose constructors or entry function crash, abort, call exit() or never return ends that child,
// not plinth. Loading runs plugin code (constructors, then the entry function) and reads the
// descriptor it returns; nothing the host does can survive a crash there, so it is tried where a
// crash costs nothing. The parent names each file that ended or hung the child, with the phase
// (its library constructors, or its entry function and descriptor), and then loads only the others
// itself: their constructors and entry functions run twice, once in the child and once in plinth.
// The child reads every descriptor as the copy would (load::descriptor_digest) and reports its
// digest: a no-op start compares those with the journal and loads nothing itself.
//
// One child for all the files while they behave; a file that ends it is refused and a new child
// goes on from the next file.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <vector>

#include <sys/types.h>

#include "load/loader.hpp"

namespace plinth::pipeline {

struct ProbeOptions {
    bool enabled = true;  // false: load in plinth's own process at once (to debug a constructor in gdb)
    std::chrono::milliseconds timeout{30000};  // one file's load, constructors and entry function
    std::function<bool()> should_stop{};       // asked while waiting; true: stop probing
};

struct ProbeResult {
    std::vector<load::Refusal> refusals;  // the files that ended or hung the child, in the order probed
    bool stopped = false;                 // should_stop said so: files after the last probed are refused
    // Per file given, in that order: the load::descriptor_digest of the descriptor its entry function
    // returned in the child; nullopt for a file refused, one the loader would refuse, or none probed.
    std::vector<std::optional<std::uint64_t>> digests;
};

// The files load::load_folder would load from each folder: regular files (through their links)
// named *.so, in file-name order, folder after folder. A folder or entry that cannot be read is
// left out: the loader reports it.
std::vector<std::filesystem::path> plugin_files(const std::vector<std::filesystem::path>& folders);

// Loads each file in a child process as load::load_file would (ELF check, dlopen, entry symbol,
// the descriptor's copy) and returns those that ended or hung it. A file the loader would refuse
// with a message is not refused here: the loader's message says more. When fork fails, nothing is
// refused (the files are loaded unprobed) and a warning is logged.
ProbeResult probe_files(const std::vector<std::filesystem::path>& files, const ProbeOptions& options);

// The same in two steps, so that the caller works (connects to the database, say) while the first
// child loads: the constructor starts it, finish() waits for it and goes on as probe_files does. The
// timeout counts from finish(). Destroyed unfinished, it kills the child. Call finish() once.
class ProbeRun {
public:
    ProbeRun(std::vector<std::filesystem::path> files, ProbeOptions options);
    ~ProbeRun();
    ProbeRun(const ProbeRun&) = delete;
    ProbeRun& operator=(const ProbeRun&) = delete;

    ProbeResult finish();

private:
    void spawn();  // a child from file next_ on; on failure, warns and leaves the rest unprobed

    std::vector<std::filesystem::path> files_;
    ProbeOptions options_;
    ProbeResult result_;
    std::size_t next_ = 0;  // the first file not yet done
    pid_t pid_ = -1;        // the child running, if any
    int fd_ = -1;           // its records
};

}  // namespace plinth::pipeline
