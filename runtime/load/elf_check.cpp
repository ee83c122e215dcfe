#include "load/elf_check.hpp"

#include <elf.h>

#include <cstring>
#include <fstream>
#include <vector>

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

}  // namespace

std::optional<std::string> check_elf_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return "cannot open the file: " + std::string(std::strerror(errno));
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::uint64_t size = bytes.size();
    if (size < EI_NIDENT || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0) return std::string("not an ELF file");
    if (bytes[EI_CLASS] != ELFCLASS64) return std::string("not a 64-bit ELF file");
    if (size < sizeof(Elf64_Ehdr)) return "ELF file truncated: " + std::to_string(size) + " bytes";
    Elf64_Ehdr header;
    std::memcpy(&header, bytes.data(), sizeof header);
    if (header.e_type != ET_DYN) return std::string("ELF file is not a shared object");
    if (kMachine != EM_NONE && header.e_machine != kMachine)
        return "ELF file is for another machine (e_machine " + std::to_string(header.e_machine) + ")";
    if (header.e_phentsize != sizeof(Elf64_Phdr) ||
        !fits(header.e_phoff, std::uint64_t(header.e_phnum) * sizeof(Elf64_Phdr), size))
        return "ELF file truncated: program headers end past its " + std::to_string(size) + " bytes";
    for (unsigned i = 0; i < header.e_phnum; ++i) {
        Elf64_Phdr segment;
        std::memcpy(&segment, bytes.data() + header.e_phoff + i * sizeof(Elf64_Phdr), sizeof segment);
        if (segment.p_type == PT_LOAD && !fits(segment.p_offset, segment.p_filesz, size))
            return "ELF file truncated: a loadable segment ends at byte " +
                   std::to_string(segment.p_offset + segment.p_filesz) + " of a " + std::to_string(size) + "-byte file";
    }
    if (header.e_shoff != 0 && !fits(header.e_shoff, std::uint64_t(header.e_shnum) * header.e_shentsize, size))
        return "ELF file truncated: section headers end past its " + std::to_string(size) + " bytes";
    return std::nullopt;
}

}  // namespace plinth::load
