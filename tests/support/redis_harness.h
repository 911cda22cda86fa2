// Test harness for Redis: a real redis-server (or a Redis Cluster of them)
// on free loopback ports in a directory of its own, and a client to drive it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace cutover::testing {

// One redis-server process. Start() adds a test failure and returns null when
// it cannot start. The destructor stops it (SIGKILL if it does not exit).
// Tests drive it through Command(), which speaks to it with hiredis directly,
// not through cutover's adapter: the harness is the tests' oracle.
// Thread-safe: each Command() opens its own connection.
class RedisServer {
 public:
  struct Options {
    // Keyspace notifications the server starts with ("" none, as Redis's
    // default; "KEA" everything).
    std::string notify_keyspace_events;
    bool cluster = false;  // --cluster-enabled yes
    // Save an RDB on SHUTDOWN and load it at start, so Restart() keeps data.
    bool persist = false;
    std::vector<std::string> extra_args;  // more "--name value" pairs
    // TLS on a second port (tls_port()) beside the plain one the harness
    // speaks on: the server's certificate and key, the CA it checks client
    // certificates against, and whether it requires one.
    struct Tls {
      std::string cert_file, key_file, ca_file;
      bool auth_clients = false;
    };
    std::optional<Tls> tls;
  };

  static std::unique_ptr<RedisServer> Start(const Options& options);
  static std::unique_ptr<RedisServer> Start() { return Start(Options{}); }
  ~RedisServer();

  int port() const { return port_; }
  int tls_port() const { return tls_port_; }  // 0 without Options::tls
  const std::string& dir() const { return dir_; }
  // redis://127.0.0.1:<port>/<db>
  std::string Url(int db = 0) const;

  // Runs one command (binary-safe arguments) on database `db`; the reply
  // flattened to strings: a bulk or status string is one element, an integer
  // its decimal text, nil "(nil)", an array its elements (nested arrays
  // flattened). An error reply or a lost connection adds a test failure and
  // returns {"(error) <message>"}.
  std::vector<std::string> Command(const std::vector<std::string>& args, int db = 0) const;
  // Command() without the test failure: for commands that may meet a server
  // being restarted or killed (a load generator).
  std::vector<std::string> TryCommand(const std::vector<std::string>& args, int db = 0) const;
  // The first element of Command(), "" when none.
  std::string One(const std::vector<std::string>& args, int db = 0) const;

  // Stops the server (SHUTDOWN SAVE when persisting, else NOSAVE) and
  // starts it again on the same port and directory. False (with a failure)
  // if it does not come back.
  bool Restart();
  // Restart's halves, for a test that acts while the server is down.
  void Stop();
  bool Resume();
  // Kills the process with SIGKILL and waits for it.
  void Kill();

 private:
  RedisServer() = default;
  bool Launch();

  Options options_;
  int port_ = 0;
  int tls_port_ = 0;
  int pid_ = -1;
  std::string dir_;
};

// A Redis Cluster of `masters` masters and `replicas_per_master` replicas,
// joined with `redis-cli --cluster create`. Null (and a failure) when it
// cannot form within 30 s.
class RedisClusterHarness {
 public:
  static std::unique_ptr<RedisClusterHarness> Start(int masters, int replicas_per_master,
                                                    const std::string& notify_keyspace_events);
  // Every node, masters first as created (roles change after a failover).
  std::vector<std::unique_ptr<RedisServer>>& nodes() { return nodes_; }
  // A seed url (the first node).
  std::string Url() const { return nodes_.front()->Url(0); }
  // The node serving `key`'s slot now (CLUSTER KEYSLOT + CLUSTER SLOTS).
  RedisServer* NodeFor(const std::string& key);
  // Runs a command on the node that serves `key`.
  std::vector<std::string> Command(const std::vector<std::string>& args, const std::string& key);
  // Waits until every node agrees the cluster state is ok.
  bool WaitHealthy(int seconds = 30);

  // Runs one command whose key is `key` as a cluster client does: on the
  // node the harness last saw serving its slot, following MOVED (and
  // remembering it) and ASK (ASKING first). No test failure: a load
  // generator's writes may meet a failover. Thread-safe.
  std::vector<std::string> TryCommand(const std::vector<std::string>& args, const std::string& key);
  // The masters now, as node 0..n-1 see them (CLUSTER NODES of the first
  // node that answers), by node id.
  std::map<std::string, RedisServer*> Masters();
  // Every key matching `pattern` on every master (KEYS on each): the
  // harness's own view of the whole keyspace.
  std::set<std::string> Keys(const std::string& pattern);
  // The id of `node` (CLUSTER MYID).
  std::string IdOf(RedisServer* node);
  // Promotes a replica of `master` with CLUSTER FAILOVER and waits until
  // every node sees it as a master serving the old master's slots and the
  // cluster is ok. The new master, or null (with a failure).
  RedisServer* FailOver(RedisServer* master, int seconds = 30);
  // Moves `slots` from master `from` to master `to` as redis-cli --cluster
  // reshard does: SETSLOT IMPORTING on `to`, MIGRATING on `from`, MIGRATE
  // of the slot's keys in pages, then SETSLOT NODE on every master. Writes
  // may go on meanwhile (a writer using TryCommand follows the ASKs). False
  // (with a failure) when a step fails.
  bool MigrateSlots(RedisServer* from, RedisServer* to, const std::vector<int>& slots);

 private:
  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::mutex mu_;
  std::map<int, int> port_by_slot_;  // guarded by mu_; learnt from MOVED
};

// A TCP port on 127.0.0.1 that nothing listens on now (0 if none was found).
int FreeLoopbackPort();

// Polls `done` every 50 ms for up to `seconds`; whether it became true.
bool WaitFor(const std::function<bool()>& done, int seconds);

// Whether `redis` has a client subscribed to a pattern (a running sync).
bool SubscriberConnected(const RedisServer& redis);

}  // namespace cutover::testing
