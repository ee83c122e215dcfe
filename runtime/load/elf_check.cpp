#include "load/elf_check.hpp"

#include <elf.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace plinth::load {
namespace {

#if defined(__x86_64__)
constexpr int kMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr int kMachine = EM_AARCH64;
#else
constexpr int kMachine = EM_NONE;  // unknown host: the machine check is skipped
#endif

bool fits(std::uint64_t offset, std::uint64_t length, std::uint64_t size) {
    return offset <= size && length <= size - offset;
}

// A file read only where asked, every read checked against the file's size: a plugin can be large,
// and all that is needed are its headers and two small sections. Plain pread: the load probe's
// child reads one file with it right after fork, where a stream's first use (its buffer, its
// locale, libstdc++'s symbols bound on first call) cost ten times the reads.
class ElfFile {
public:
    explicit ElfFile(const std::filesystem::path& file) : fd_(::open(file.c_str(), O_RDONLY | O_CLOEXEC)) {
        struct stat st {};
        if (fd_ >= 0 && ::fstat(fd_, &st) == 0 && st.st_size > 0) size_ = static_cast<std::uint64_t>(st.st_size);
    }
    ~ElfFile() {
        if (fd_ >= 0) ::close(fd_);
    }
    ElfFile(const ElfFile&) = delete;
    ElfFile& operator=(const ElfFile&) = delete;
    bool is_open() const { return fd_ >= 0; }
    std::uint64_t size() const { return size_; }

    // `count` items of T from `offset`; false when they do not lie inside the file.
    template <class T> bool read(std::uint64_t offset, std::uint64_t count, std::vector<T>& out) {
        if (count > size_ / sizeof(T) || !fits(offset, count * sizeof(T), size_)) return false;
        out.resize(count);
        auto* bytes = reinterpret_cast<char*>(out.data());
        std::uint64_t done = 0;
        while (done < count * sizeof(T)) {
            const ssize_t n = ::pread(fd_, bytes + done, count * sizeof(T) - done, static_cast<off_t>(offset + done));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            done += static_cast<std::uint64_t>(n);
        }
        return true;
    }

private:
    int fd_;
    std::uint64_t size_ = 0;
};

// The header of a 64-bit ELF file, or why the file has none.
std::optional<std::string> read_header(ElfFile& elf, Elf64_Ehdr& header) {
    std::vector<unsigned char> ident;
    if (!elf.read(0, EI_NIDENT, ident) || std::memcmp(ident.data(), ELFMAG, SELFMAG) != 0)
        return std::string("not an ELF file");
    if (ident[EI_CLASS] != ELFCLASS64) return std::string("not a 64-bit ELF file");
    std::vector<Elf64_Ehdr> headers;
    if (!elf.read(0, 1, headers)) return "ELF file truncated: " + std::to_string(elf.size()) + " bytes";
    header = headers[0];
    return std::nullopt;
}

// The symbols the file defines and exports (.dynsym entries that are defined and not local), in
// table order; nullopt when it cannot tell.
std::optional<std::vector<ElfSymbol>> defined_symbols(ElfFile& elf, const Elf64_Ehdr& header) {
    std::vector<Elf64_Shdr> sections;
    if (header.e_shoff == 0 || header.e_shentsize != sizeof(Elf64_Shdr) ||
        !elf.read(header.e_shoff, header.e_shnum, sections))
        return std::nullopt;
    std::vector<ElfSymbol> found;
    for (const auto& section : sections) {
        if (section.sh_type != SHT_DYNSYM) continue;
        std::vector<Elf64_Sym> symbols;
        std::vector<char> strings;
        if (section.sh_entsize != sizeof(Elf64_Sym) || section.sh_link >= sections.size() ||
            !elf.read(section.sh_offset, section.sh_size / sizeof(Elf64_Sym), symbols) ||
            !elf.read(sections[section.sh_link].sh_offset, sections[section.sh_link].sh_size, strings))
            return std::nullopt;
        for (const auto& symbol : symbols) {
            // Undefined ones are imports; local ones are not exported; absolute ones name version
            // nodes of a version script, not code or data.
            if (ELF64_ST_BIND(symbol.st_info) == STB_LOCAL || symbol.st_shndx == SHN_UNDEF ||
                symbol.st_shndx == SHN_ABS || symbol.st_name >= strings.size())
                continue;
            const char* name = strings.data() + symbol.st_name;
            found.push_back({std::string(name, ::strnlen(name, strings.size() - symbol.st_name)),
                             static_cast<unsigned char>(ELF64_ST_TYPE(symbol.st_info))});
        }
    }
    return found;
}

std::string symbol_kind(unsigned char type) {
    switch (type) {
    case STT_OBJECT: return "a data object";
    case STT_TLS: return "a thread-local variable";
    case STT_NOTYPE: return "of no type";
    case STT_SECTION: return "a section";
    default: return "of ELF symbol type " + std::to_string(type);
    }
}

// Why the file is no complete ELF shared object for this machine, or nullopt; `header` is then read.
std::optional<std::string> check_header(ElfFile& elf, Elf64_Ehdr& header) {
    const std::uint64_t size = elf.size();
    if (auto bad = read_header(elf, header)) return bad;
    if (header.e_type != ET_DYN) return std::string("ELF file is not a shared object");
    if (kMachine != EM_NONE && header.e_machine != kMachine)
        return "ELF file is for another machine (e_machine " + std::to_string(header.e_machine) + ")";
    std::vector<Elf64_Phdr> segments;
    if (header.e_phentsize != sizeof(Elf64_Phdr) || !elf.read(header.e_phoff, header.e_phnum, segments))
        return "ELF file truncated: program headers end past its " + std::to_string(size) + " bytes";
    for (const auto& segment : segments) {
        if (segment.p_type == PT_LOAD && !fits(segment.p_offset, segment.p_filesz, size))
            return "ELF file truncated: a loadable segment ends at byte " +
                   std::to_string(segment.p_offset + segment.p_filesz) + " of a " + std::to_string(size) + "-byte file";
    }
    if (header.e_shoff != 0 && !fits(header.e_shoff, std::uint64_t(header.e_shnum) * header.e_shentsize, size))
        return "ELF file truncated: section headers end past its " + std::to_string(size) + " bytes";
    return std::nullopt;
}

}  // namespace

ElfFacts inspect_elf_file(const std::filesystem::path& file) {
    ElfFile elf(file);
    if (!elf.is_open()) return {"cannot open the file: " + std::string(std::strerror(errno)), std::nullopt};
    Elf64_Ehdr header{};  // zeroed: GCC cannot see that read_header fills it whenever it is read
    if (auto bad = check_header(elf, header)) return {std::move(bad), std::nullopt};
    return {std::nullopt, defined_symbols(elf, header)};
}

std::optional<std::vector<std::string>> exported_symbols(const std::filesystem::path& file) {
    const auto symbols = inspect_elf_file(file).symbols;
    if (!symbols) return std::nullopt;
    std::vector<std::string> names;
    for (const auto& symbol : *symbols) names.push_back(symbol.name);
    return names;
}

std::optional<std::string> check_function_symbol(const std::optional<std::vector<ElfSymbol>>& symbols,
                                                 const std::string& name) {
    if (!symbols) return std::nullopt;
    for (const auto& symbol : *symbols) {
        if (symbol.name != name || symbol.type == STT_FUNC || symbol.type == STT_GNU_IFUNC) continue;
        return "symbol " + name + " is " + symbol_kind(symbol.type) + ", not a function";
    }
    return std::nullopt;
}

}  // namespace plinth::load
