#include "access/secrets.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <openssl/rand.h>

namespace treu {
namespace {

Error SystemError(const std::filesystem::path& path, const char* what) {
  return Error(ErrorCode::kUnavailable, path.string(), std::string(what) + ": " + std::strerror(errno));
}

Result<std::vector<std::uint8_t>> Read(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::unexpected(SystemError(path, "can't read the secret"));
  if ((st.st_mode & 077) != 0) {
    return FailedPrecondition(path.string(), "the signing secret may be read by others; run chmod 600 " + path.string());
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string hex = text.str();
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
  if (hex.size() != 2 * kSecretBytes) {
    return FailedPrecondition(path.string(), "is not a signing secret (64 hex digits expected)");
  }
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    unsigned v = 0;
    for (std::size_t k = i; k < i + 2; ++k) {
      const char c = hex[k];
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return FailedPrecondition(path.string(), "is not a signing secret (64 hex digits expected)");
      v = v * 16 + static_cast<unsigned>(d);
    }
    out.push_back(static_cast<std::uint8_t>(v));
  }
  return out;
}

}  // namespace

Result<std::vector<std::uint8_t>> LoadOrCreateSecret(const std::filesystem::path& path) {
  if (std::filesystem::exists(path)) return Read(path);
  std::vector<std::uint8_t> secret(kSecretBytes);
  if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1) {
    return Internal("signing secret", "no random bytes available");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (std::uint8_t b : secret) {
    hex += kHex[b >> 4];
    hex += kHex[b & 15];
  }
  hex += '\n';
  // Written to a private temporary file, synced, then linked into place: a crash leaves no
  // partial secret, and of two processes creating it at once the first link wins.
  const std::filesystem::path tmp = path.string() + ".tmp" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(SystemError(tmp, "can't create the signing secret"));
  const bool written = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    return std::unexpected(SystemError(tmp, "can't write the signing secret"));
  }
  const int linked = ::link(tmp.c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (linked != 0 && link_errno != EEXIST) {
    errno = link_errno;
    return std::unexpected(SystemError(path, "can't store the signing secret"));
  }
  if (linked == 0) {
    const int dir = ::open(path.has_parent_path() ? path.parent_path().c_str() : ".", O_RDONLY | O_DIRECTORY);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
  }
  return Read(path);
}

}  // namespace treu
