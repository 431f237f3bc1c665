// Runs the malformed-weights corpus (make_corpus.py) through the native loader, one child
// process per file: checks each message against its expected class, and measures time and
// the heap the loader allocates beyond the file's own bytes (a counting operator new).
//
//   hardening_corpus CORPUS_DIR [--budget-mib 64] [--timeout-ms 10000]
//
// Prints one summary line; exits non-zero on any mismatch, crash, hang or budget excess.
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <new>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>

#include "weights_loader.h"

// ---- heap accounting: every operator new/delete, sized by the allocator itself ----

namespace {
size_t g_current = 0, g_peak = 0;

void* counted_alloc(size_t size) {
  void* p = std::malloc(size ? size : 1);
  if (!p) throw std::bad_alloc();
  g_current += malloc_usable_size(p);
  if (g_current > g_peak) g_peak = g_current;
  return p;
}

void counted_free(void* p) noexcept {
  if (!p) return;
  g_current -= malloc_usable_size(p);
  std::free(p);
}
}  // namespace

void* operator new(size_t size) { return counted_alloc(size); }
void* operator new[](size_t size) { return counted_alloc(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  try { return counted_alloc(size); } catch (...) { return nullptr; }
}
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  try { return counted_alloc(size); } catch (...) { return nullptr; }
}
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, size_t) noexcept { counted_free(p); }
void operator delete[](void* p, size_t) noexcept { counted_free(p); }

namespace {

struct Outcome {
  int ok = 0;
  double ms = 0;
  unsigned long long peak = 0;  // bytes beyond the file
  unsigned int message_length = 0;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text;
  in.seekg(0, std::ios::end);
  text.resize(static_cast<size_t>(in.tellg()));
  in.seekg(0);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  return text;
}

void write_all(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size) {
    const ssize_t n = write(fd, p, size);
    if (n <= 0) _exit(3);
    p += n;
    size -= size_t(n);
  }
}

// In the child: load one file, report through the pipe.
[[noreturn]] void child(const std::string& path, int fd) {
  const std::string text = read_file(path);
  const size_t baseline = g_current;
  g_peak = g_current;
  const auto start = std::chrono::steady_clock::now();
  attnviz::Status status;
  {
    attnviz::Model model;
    status = attnviz::load_model(text, model);
  }
  Outcome outcome;
  outcome.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  outcome.ok = status.ok;
  outcome.peak = g_peak - baseline;
  outcome.message_length = static_cast<unsigned int>(status.message.size());
  write_all(fd, &outcome, sizeof outcome);
  write_all(fd, status.message.data(), status.message.size());
  _exit(0);
}

std::string mib(unsigned long long bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", bytes / 1048576.0);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [--budget-mib N] [--timeout-ms N]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  unsigned long long budget = 64ull << 20;
  int timeout_ms = 10000;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--budget-mib")) budget = std::strtoull(argv[i + 1], nullptr, 10) << 20;
    if (!std::strcmp(argv[i], "--timeout-ms")) timeout_ms = std::atoi(argv[i + 1]);
  }
  const nlohmann::json manifest = nlohmann::json::parse(read_file(dir + "/manifest.json"));

  int as_expected = 0, rejected = 0, accepted = 0, crashes = 0, hangs = 0, mismatches = 0, over = 0;
  double worst_ms = 0;
  unsigned long long worst_peak = 0;
  std::string worst_ms_file, worst_peak_file;
  for (const auto& entry : manifest) {
    const std::string file = entry["file"];
    const std::string expect = entry["expect"];
    int fds[2];
    if (pipe(fds) != 0) return 2;
    std::fflush(stdout);
    const pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      child(dir + "/" + file, fds[1]);
    }
    close(fds[1]);
    std::string bytes;
    bool timed_out = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) { timed_out = true; break; }
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buffer[4096];
      const ssize_t n = read(fds[0], buffer, sizeof buffer);
      if (n <= 0) break;
      bytes.append(buffer, size_t(n));
    }
    close(fds[0]);
    if (timed_out) kill(pid, SIGKILL);
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    if (timed_out) {
      ++hangs;
      std::printf("HANG  %s: no answer in %d ms\n", file.c_str(), timeout_ms);
      continue;
    }
    if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0 || bytes.size() < sizeof(Outcome)) {
      ++crashes;
      std::printf("CRASH %s: %s %d\n", file.c_str(), WIFSIGNALED(wstatus) ? "signal" : "exit",
                  WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : WEXITSTATUS(wstatus));
      continue;
    }
    Outcome outcome;
    std::memcpy(&outcome, bytes.data(), sizeof outcome);
    const std::string message = bytes.substr(sizeof outcome, outcome.message_length);
    bool good;
    if (expect == "ACCEPT") {
      good = outcome.ok;
    } else {
      // libstdc++'s regex recurses per character: match a bounded prefix (messages are short).
      good = !outcome.ok && message.size() <= 4096 && std::regex_search(message, std::regex(expect));
    }
    if (!good) {
      ++mismatches;
      std::printf("MISMATCH %s: expected %s, got %s\n", file.c_str(), expect.c_str(),
                  outcome.ok ? "ACCEPTED" : ("\"" + message.substr(0, 300) + "\"").c_str());
    }
    if (outcome.peak > budget) {
      ++over;
      std::printf("BUDGET %s: %s beyond the file, over %s\n", file.c_str(), mib(outcome.peak).c_str(), mib(budget).c_str());
    }
    if (good && outcome.peak <= budget) ++as_expected;
    if (good) (outcome.ok ? accepted : rejected) += 1;
    if (outcome.ms > worst_ms) worst_ms = outcome.ms, worst_ms_file = file;
    if (outcome.peak > worst_peak) worst_peak = outcome.peak, worst_peak_file = file;
  }
  const int total = static_cast<int>(manifest.size());
  std::printf("native: %d/%d as expected (%d rejected with the expected error, %d accepted as still valid), "
              "%d crashes, %d hangs, worst %.0f ms (%s), peak heap %s beyond the file (%s; budget %s)\n",
              as_expected, total, rejected, accepted, crashes, hangs,
              worst_ms, worst_ms_file.c_str(), mib(worst_peak).c_str(), worst_peak_file.c_str(),
              mib(budget).c_str());
  return as_expected == total && crashes == 0 && hangs == 0 && mismatches == 0 && over == 0 ? 0 : 1;
}
