// redis-server processes for tests: started on free loopback ports, driven
// with hiredis directly, stopped when the test is done.
#include "support/redis_harness.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "support/pg_harness.h"

namespace cutover::testing {

int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

bool WaitFor(const std::function<bool()>& done, int seconds) {
  for (int i = 0; i < seconds * 20; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool SubscriberConnected(const RedisServer& redis) {
  const auto clients = redis.TryCommand({"CLIENT", "LIST", "TYPE", "pubsub"});
  return !clients.empty() && clients[0].find("cmd=psubscribe") != std::string::npos;
}

namespace {

void Flatten(const redisReply* r, std::vector<std::string>* out) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      out->emplace_back(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out->push_back(std::to_string(r->integer));
      break;
    case REDIS_REPLY_NIL:
      out->push_back("(nil)");
      break;
    case REDIS_REPLY_ERROR:
      out->push_back("(error) " + std::string(r->str, r->len));
      break;
    case REDIS_REPLY_ARRAY:
      for (size_t i = 0; i < r->elements; ++i) Flatten(r->element[i], out);
      break;
    default:
      break;
  }
}

// Runs one command on 127.0.0.1:port; `expect_ok` adds a failure on an error.
std::vector<std::string> RunOn(int port, const std::vector<std::string>& args, int db,
                               bool expect_ok) {
  timeval tv{10, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (c == nullptr || c->err) {
    if (expect_ok) {
      ADD_FAILURE() << "redis 127.0.0.1:" << port << ": " << (c ? c->errstr : "no memory");
    }
    if (c) redisFree(c);
    return {"(error) connect"};
  }
  redisSetTimeout(c, tv);
  if (db != 0) {
    auto* r = static_cast<redisReply*>(redisCommand(c, "SELECT %d", db));
    if (r) freeReplyObject(r);
  }
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()));
  std::vector<std::string> out;
  if (r == nullptr) {
    if (expect_ok) ADD_FAILURE() << "redis 127.0.0.1:" << port << ": " << c->errstr;
    out.push_back(std::string("(error) ") + c->errstr);
  } else {
    if (r->type == REDIS_REPLY_ERROR && expect_ok) {
      ADD_FAILURE() << "redis 127.0.0.1:" << port << " " << args[0] << ": "
                    << std::string(r->str, r->len);
    }
    Flatten(r, &out);
    freeReplyObject(r);
  }
  redisFree(c);
  return out;
}

// Runs `commands` in order on one connection to 127.0.0.1:port and returns
// the last one's reply flattened ({"(error) ..."} as RunOn; a connection
// failure is "(error) connect"). No test failure.
std::vector<std::string> RunAllOn(int port, const std::vector<std::vector<std::string>>& commands) {
  timeval tv{10, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (c == nullptr || c->err) {
    if (c) redisFree(c);
    return {"(error) connect"};
  }
  redisSetTimeout(c, tv);
  std::vector<std::string> out;
  for (const auto& args : commands) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()));
    out.clear();
    if (r == nullptr) {
      out.push_back(std::string("(error) ") + c->errstr);
      break;
    }
    Flatten(r, &out);
    freeReplyObject(r);
  }
  redisFree(c);
  return out;
}

// The cluster slot of `key`, worked out here rather than taken from the code
// under test: CRC16-CCITT (XMODEM) of the key or its {hash tag}, mod 16384.
int HarnessKeySlot(const std::string& key) {
  std::string_view k = key;
  const size_t open = k.find('{');
  if (open != std::string_view::npos) {
    const size_t close = k.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1)
      k = k.substr(open + 1, close - open - 1);
  }
  uint16_t crc = 0;
  for (unsigned char b : k) {
    crc ^= static_cast<uint16_t>(b << 8);
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc & 16383;
}

bool StartsWith(const std::vector<std::string>& reply, const std::string& prefix) {
  return !reply.empty() && reply[0].rfind(prefix, 0) == 0;
}

}  // namespace

std::unique_ptr<RedisServer> RedisServer::Start(const Options& options) {
  std::unique_ptr<RedisServer> s(new RedisServer());
  s->options_ = options;
  s->dir_ = TempDir();
  for (int attempt = 0; attempt < 5; ++attempt) {
    s->port_ = FreeLoopbackPort();
    if (options.tls) s->tls_port_ = FreeLoopbackPort();
    if (s->Launch()) return s;
  }
  ADD_FAILURE() << "redis-server did not start; see " << s->dir_ << "/redis.log";
  return nullptr;
}

bool RedisServer::Launch() {
  std::vector<std::string> args = {"redis-server",
                                   "--port",
                                   std::to_string(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--dir",
                                   dir_,
                                   "--logfile",
                                   dir_ + "/redis.log",
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--daemonize",
                                   "no",
                                   "--notify-keyspace-events",
                                   options_.notify_keyspace_events};
  if (options_.cluster) {
    args.insert(args.end(), {"--cluster-enabled", "yes", "--cluster-config-file",
                             dir_ + "/nodes.conf", "--cluster-node-timeout", "2000"});
  }
  if (options_.tls) {
    args.insert(args.end(), {"--tls-port", std::to_string(tls_port_), "--tls-cert-file",
                             options_.tls->cert_file, "--tls-key-file", options_.tls->key_file,
                             "--tls-ca-cert-file", options_.tls->ca_file, "--tls-auth-clients",
                             options_.tls->auth_clients ? "yes" : "no"});
  }
  for (const auto& a : options_.extra_args) args.push_back(a);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    // A test killed by ctest's timeout runs no destructor: the kernel then
    // stops its servers. The signal follows the forking thread, and every
    // test starts its servers from its main thread.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp("redis-server", argv.data());
    _exit(127);
  }
  pid_ = pid;
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;  // exited: the port was taken, or a bad option
    }
    const auto pong = RunOn(port_, {"PING"}, 0, false);
    if (!pong.empty() && pong[0] == "PONG") return true;
  }
  Kill();
  return false;
}

RedisServer::~RedisServer() {
  Kill();
}

std::string RedisServer::Url(int db) const {
  return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
}

std::vector<std::string> RedisServer::Command(const std::vector<std::string>& args, int db) const {
  return RunOn(port_, args, db, true);
}

std::vector<std::string> RedisServer::TryCommand(const std::vector<std::string>& args,
                                                 int db) const {
  return RunOn(port_, args, db, false);
}

std::string RedisServer::One(const std::vector<std::string>& args, int db) const {
  auto r = Command(args, db);
  return r.empty() ? "" : r[0];
}

void RedisServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

bool RedisServer::Restart() {
  Stop();
  return Resume();
}

void RedisServer::Stop() {
  if (pid_ > 0) {
    // SHUTDOWN closes the connection instead of replying.
    RunOn(port_, {"SHUTDOWN", options_.persist ? "SAVE" : "NOSAVE"}, 0, false);
    int status = 0;
    for (int i = 0; i < 200 && waitpid(pid_, &status, WNOHANG) != pid_; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Kill();
  }
}

bool RedisServer::Resume() {
  // A persisting server loads the dump.rdb SHUTDOWN SAVE wrote in dir_.
  for (int attempt = 0; attempt < 20; ++attempt) {
    if (Launch()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // port in TIME_WAIT
  }
  ADD_FAILURE() << "redis-server did not restart on port " << port_;
  return false;
}

std::unique_ptr<RedisClusterHarness> RedisClusterHarness::Start(
    int masters, int replicas_per_master, const std::string& notify_keyspace_events) {
  auto h = std::make_unique<RedisClusterHarness>();
  const int total = masters * (1 + replicas_per_master);
  for (int i = 0; i < total; ++i) {
    RedisServer::Options o;
    o.cluster = true;
    o.notify_keyspace_events = notify_keyspace_events;
    auto node = RedisServer::Start(o);
    if (node == nullptr) return nullptr;
    h->nodes_.push_back(std::move(node));
  }
  std::vector<std::string> argv = {"redis-cli", "--cluster", "create"};
  for (const auto& n : h->nodes_) argv.push_back("127.0.0.1:" + std::to_string(n->port()));
  argv.insert(argv.end(),
              {"--cluster-replicas", std::to_string(replicas_per_master), "--cluster-yes"});
  const CommandResult r = RunCommand(argv);
  if (r.exit_code != 0) {
    ADD_FAILURE() << "redis-cli --cluster create failed: " << r.out << r.err;
    return nullptr;
  }
  if (!h->WaitHealthy()) return nullptr;
  return h;
}

bool RedisClusterHarness::WaitHealthy(int seconds) {
  for (int i = 0; i < seconds * 10; ++i) {
    bool ok = true;
    for (const auto& n : nodes_) {
      const auto info = RunOn(n->port(), {"CLUSTER", "INFO"}, 0, false);
      if (info.empty() || info[0].find("cluster_state:ok") == std::string::npos) ok = false;
    }
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "the Redis Cluster did not reach cluster_state:ok";
  return false;
}

RedisServer* RedisClusterHarness::NodeFor(const std::string& key) {
  const auto slot_reply = nodes_.front()->Command({"CLUSTER", "KEYSLOT", key});
  const int slot = std::stoi(slot_reply.at(0));
  // CLUSTER SLOTS flattened: start, end, host, port, id, (replica host, port, id)...
  timeval tv{10, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", nodes_.front()->port(), tv);
  auto* r = static_cast<redisReply*>(redisCommand(c, "CLUSTER SLOTS"));
  int port = 0;
  for (size_t i = 0; r && i < r->elements; ++i) {
    const redisReply* range = r->element[i];
    if (slot >= range->element[0]->integer && slot <= range->element[1]->integer) {
      port = static_cast<int>(range->element[2]->element[1]->integer);
    }
  }
  if (r) freeReplyObject(r);
  redisFree(c);
  for (auto& n : nodes_) {
    if (n->port() == port) return n.get();
  }
  ADD_FAILURE() << "no node serves slot " << slot;
  return nodes_.front().get();
}

std::vector<std::string> RedisClusterHarness::Command(const std::vector<std::string>& args,
                                                      const std::string& key) {
  return NodeFor(key)->Command(args);
}

std::vector<std::string> RedisClusterHarness::TryCommand(const std::vector<std::string>& args,
                                                         const std::string& key) {
  const int slot = HarnessKeySlot(key);
  int port = nodes_.front()->port();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = port_by_slot_.find(slot);
    if (it != port_by_slot_.end()) port = it->second;
  }
  bool asking = false;
  std::vector<std::string> reply;
  for (int hop = 0; hop < 8; ++hop) {
    reply = asking ? RunAllOn(port, {{"ASKING"}, args}) : RunAllOn(port, {args});
    asking = false;
    // "(error) MOVED 3999 127.0.0.1:6381" / "(error) ASK 3999 127.0.0.1:6381"
    const bool moved = StartsWith(reply, "(error) MOVED ");
    if (!moved && !StartsWith(reply, "(error) ASK ")) {
      if (StartsWith(reply, "(error) connect") || StartsWith(reply, "(error) CLUSTERDOWN")) {
        std::lock_guard<std::mutex> lock(mu_);
        port_by_slot_.erase(slot);  // ask another node next time
      }
      return reply;
    }
    port = std::atoi(reply[0].c_str() + reply[0].rfind(':') + 1);
    if (moved) {
      std::lock_guard<std::mutex> lock(mu_);
      port_by_slot_[slot] = port;
    } else {
      asking = true;
    }
  }
  return reply;
}

std::map<std::string, RedisServer*> RedisClusterHarness::Masters() {
  std::map<std::string, RedisServer*> masters;
  for (const auto& asked : nodes_) {
    const auto text = RunOn(asked->port(), {"CLUSTER", "NODES"}, 0, false);
    if (text.empty() || text[0].rfind("(error)", 0) == 0) continue;
    // <id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <state> <slots>...
    std::istringstream lines(text[0]);
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::string id, address, flags;
      fields >> id >> address >> flags;
      if (flags.find("master") == std::string::npos || flags.find("fail") != std::string::npos) {
        continue;
      }
      const int port = std::atoi(address.c_str() + address.find(':') + 1);
      for (auto& n : nodes_) {
        if (n->port() == port) masters[id] = n.get();
      }
    }
    return masters;
  }
  ADD_FAILURE() << "no cluster node answered CLUSTER NODES";
  return masters;
}

std::set<std::string> RedisClusterHarness::Keys(const std::string& pattern) {
  std::set<std::string> keys;
  for (const auto& [id, master] : Masters()) {
    for (auto& k : master->Command({"KEYS", pattern})) keys.insert(std::move(k));
  }
  return keys;
}

std::string RedisClusterHarness::IdOf(RedisServer* node) {
  return node->One({"CLUSTER", "MYID"});
}

RedisServer* RedisClusterHarness::FailOver(RedisServer* master, int seconds) {
  const std::string master_id = IdOf(master);
  RedisServer* replica = nullptr;
  for (auto& n : nodes_) {
    const auto role = n->Command({"ROLE"});
    // ROLE of a replica: "slave", master host, master port, state, offset.
    if (role.size() >= 3 && role[0] == "slave" && std::atoi(role[2].c_str()) == master->port()) {
      replica = n.get();
    }
  }
  if (replica == nullptr) {
    ADD_FAILURE() << "no replica of the master on port " << master->port();
    return nullptr;
  }
  const std::string replica_id = IdOf(replica);
  if (replica->One({"CLUSTER", "FAILOVER"}) != "OK") return nullptr;
  for (int i = 0; i < seconds * 10; ++i) {
    bool done = true;
    for (auto& n : nodes_) {
      const auto text = RunOn(n->port(), {"CLUSTER", "NODES"}, 0, false);
      std::istringstream lines(text.empty() ? "" : text[0]);
      std::string line;
      bool promoted = false;
      while (std::getline(lines, line)) {
        std::istringstream fields(line);
        std::string id, address, flags, of;
        fields >> id >> address >> flags >> of;
        if (id == replica_id && flags.find("master") != std::string::npos && of == "-") {
          promoted = true;
        }
      }
      done = done && promoted;
    }
    if (done && master->One({"ROLE"}) == "slave") {
      if (!WaitHealthy(seconds)) return nullptr;
      return replica;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "the replica on port " << replica->port() << " did not take over from "
                << master_id;
  return nullptr;
}

bool RedisClusterHarness::MigrateSlots(RedisServer* from, RedisServer* to,
                                       const std::vector<int>& slots) {
  const std::string from_id = IdOf(from);
  const std::string to_id = IdOf(to);
  for (const int slot : slots) {
    const std::string s = std::to_string(slot);
    if (to->One({"CLUSTER", "SETSLOT", s, "IMPORTING", from_id}) != "OK" ||
        from->One({"CLUSTER", "SETSLOT", s, "MIGRATING", to_id}) != "OK") {
      return false;
    }
    for (;;) {
      auto keys = from->Command({"CLUSTER", "GETKEYSINSLOT", s, "50"});
      if (keys.empty()) break;
      std::vector<std::string> migrate = {
          "MIGRATE", "127.0.0.1", std::to_string(to->port()), "", "0", "5000", "REPLACE", "KEYS"};
      migrate.insert(migrate.end(), keys.begin(), keys.end());
      const auto r = from->Command(migrate);
      if (r.empty() || (r[0] != "OK" && r[0] != "NOKEY")) return false;
    }
    // The new owner first, so that the old one's MOVED points to a node
    // that already serves the slot.
    if (to->One({"CLUSTER", "SETSLOT", s, "NODE", to_id}) != "OK" ||
        from->One({"CLUSTER", "SETSLOT", s, "NODE", to_id}) != "OK") {
      return false;
    }
    for (const auto& [id, master] : Masters()) {
      if (master != from && master != to) master->Command({"CLUSTER", "SETSLOT", s, "NODE", to_id});
    }
  }
  return WaitHealthy();
}

}  // namespace cutover::testing
