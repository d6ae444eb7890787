// Test support: test/messaging/smtp_sink.py (a real SMTP server on Debian's aiosmtpd that parses
// what it accepts with Python's email package and checks DKIM with dkimpy) as a child process
// on a free loopback port with its own directory. Header-only, for *_test.cpp files of targets
// that define TREU_PYTHON and TREU_SMTP_SINK.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace treu::messaging::smtp_testing {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

inline std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline void WriteFile(const fs::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

// A fresh directory under the system's temporary directory, removed at the end.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "treu-smtp-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A port nothing listens on (bound, then closed).
inline int UnusedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// smtp_sink.py as a child process.
class Sink {
 public:
  explicit Sink(std::vector<std::string> options, int port = 0) : dir_(dir_holder_.path()) {
    std::error_code ignored;
    fs::remove(port_file(), ignored);
    std::vector<std::string> args = {TREU_PYTHON, TREU_SMTP_SINK, "--port", std::to_string(port),
                                     "--port-file", port_file().string(), "--out",
                                     out().string()};
    args.insert(args.end(), options.begin(), options.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // Its output goes to sink.log beside its files.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = (dir_ / "sink.log").string();
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int spawned = ::posix_spawn(&pid_, TREU_PYTHON, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
      ADD_FAILURE() << "cannot start " << TREU_SMTP_SINK;
      pid_ = -1;
      return;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (fs::exists(port_file())) {
        port_ = std::stoi(ReadFile(port_file()));
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        ADD_FAILURE() << "smtp_sink.py exited early with status " << status << ":\n"
                      << ReadFile(dir_ / "sink.log");
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    ADD_FAILURE() << "smtp_sink.py did not start within 20 s";
  }
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;
  ~Sink() { Stop(); }

  // Stops the server (SIGTERM) and waits for it; its files stay until the Sink is destroyed.
  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "sink status " << status;
    pid_ = -1;
  }

  int port() const { return port_; }
  std::string Url(std::string_view scheme = "smtp") const {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(port_);
  }
  fs::path out() const { return dir_ / "out"; }
  fs::path port_file() const { return dir_ / "port"; }
  const fs::path& dir() const { return dir_; }

  // The summary of the n-th accepted message (1-based).
  json Message(int n) const {
    const fs::path path = out() / (std::to_string(n) + ".json");
    if (!fs::exists(path)) {
      ADD_FAILURE() << "no message " << n;
      return json::object();
    }
    return json::parse(ReadFile(path));
  }
  std::string Raw(int n) const { return ReadFile(out() / (std::to_string(n) + ".eml")); }
  json Stats() const { return json::parse(ReadFile(out() / "stats.json")); }

 private:
  TempDir dir_holder_;
  fs::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace treu::messaging::smtp_testing
