// Real PostgreSQL for tests: never mocked, never skipped.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

namespace plinth::test {

// One throwaway cluster per test process, made with the same EmbeddedCluster code plinth uses:
// started on first use in a fresh folder under /tmp (run by the `postgres` user when the tests run as
// root), stopped and removed at process exit. A watchdog process does the same if the test process
// dies without running static destructors (crash, timeout kill).
class TestCluster {
public:
    static TestCluster& instance();
    // A second cluster whose server does not offer pgvector, for the real[] fallback's tests, now
    // that pgvector is installed on the machine (tests/support/install_pgvector.sh). Its server runs
    // from a copy of the PostgreSQL tree under /tmp: postgres, initdb and pg_ctl are copied (a
    // symbolic link would not do: PostgreSQL resolves its own executable's links), the lib folder is
    // linked, and the share folder is a folder of links to the real entries, whose extension/ links
    // every extension file but vector*. PostgreSQL finds its share folder relative to its
    // executable, so that server sees no vector.control.
    static TestCluster& without_pgvector();
    // Whether pgvector is offered to the servers of instance(): false when its archive was absent
    // and install_pgvector.sh skipped it. Vector tests are skipped then, and say why.
    static bool pgvector_installed();

    std::string conninfo_for(const std::string& dbname) const;
    // Creates a uniquely named database and returns its conninfo.
    std::string fresh_database();
    // The `postgres` database, as the superuser.
    std::string admin_conninfo() const;
    const std::filesystem::path& data_dir() const;

    TestCluster(const TestCluster&) = delete;
    TestCluster& operator=(const TestCluster&) = delete;
    ~TestCluster();

private:
    explicit TestCluster(bool with_pgvector);
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// A primary and a hot standby streaming from it, for failover tests: two throwaway servers made
// with the EmbeddedCluster code (each in its own folder under /tmp, reached by its Unix socket
// there), the standby made by pg_basebackup -R. Stopped and removed by the destructor, or by a
// watchdog each if the test process dies.
class ReplicaPair {
public:
    ReplicaPair();
    ReplicaPair(const ReplicaPair&) = delete;
    ReplicaPair& operator=(const ReplicaPair&) = delete;
    ~ReplicaPair();

    std::string primary_conninfo(const std::string& dbname) const;
    std::string standby_conninfo(const std::string& dbname) const;
    // Both servers, primary first, with target_session_attrs=read-write: how plinth is told about
    // a cluster whose primary may change.
    std::string cluster_conninfo(const std::string& dbname) const;
    // Creates a uniquely named database on the primary and waits until the standby has it.
    std::string fresh_database();
    // Waits until the standby has replayed everything the primary wrote so far.
    void wait_for_standby();
    // pg_ctl stop -m fast on the primary (its sessions end with 57P01; the standby gets all its WAL).
    void stop_primary();
    // pg_ctl promote -w on the standby: it is the primary once this returns.
    void promote_standby();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// A fresh empty folder under /tmp (mkdtemp), removed with its contents by the destructor.
class TempDir {
public:
    TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();

    const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

}  // namespace plinth::test
