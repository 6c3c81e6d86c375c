// pins.h — bulwark's kernel objects in bpffs, so that enforcement outlives
// bulwarkd (a crash, kill -9, a restart, an upgrade):
//
//   <pinDir>/maps/<map>        every bw_* map (bpf/maps.bpf.h)
//   <pinDir>/links/<program>   every attached program's link
//
// A starting bulwarkd adopts what it finds (the maps, when compatible, and
// the generation in force), attaches its own programs, pins their links over
// the old ones (rename: the path never goes missing) and only then lets the
// old links go: no moment without enforcement.  Stopping for good removes
// every pin, which detaches the programs.  The directory is root's, 0700;
// self-protection of the pins (a BPF LSM guard on bpf() and on the
// directory) can be added on this layout.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "bulwark_abi.h"
#include "daemon/error.h"
#include "daemon/loader.h"
#include "policy/unique_fd.h"

namespace bulwark {

// What a previous bulwarkd left pinned.
struct AdoptedPins {
    std::map<std::string, UniqueFd> maps;   // by map name
    std::map<std::string, UniqueFd> links;  // by program name; closing them lets the old programs go
    std::optional<bw_state> state;          // the generation in force, if valid
    std::string not_reusable;               // why the maps cannot be reused ("" when they can)
    // The kernel refused this process the pinned maps (self-protection: it
    // is not a bulwarkd binary the running programs accept); "" otherwise.
    std::string refused;

    bool empty() const { return maps.empty() && links.empty(); }
    // Map name -> fd, for LoadOptions::reuse_maps (empty when not reusable).
    std::map<std::string, int> reusable_maps() const;
};

class PinDir {
public:
    // Checks that `dir`'s parent is a mounted bpf filesystem and creates
    // `dir`, `dir/maps` and `dir/links` (0700) where missing.
    static Result<PinDir> open(const std::string& dir);

    const std::string& path() const { return dir_; }
    AdoptedPins adopt() const;
    // Pins `e`'s maps (unless they are the adopted ones) and links, each
    // replacing the pin of the same name; removes the pins of links and maps
    // `e` does not have.
    Status pin(const Enforcer& e) const;
    // Removes every pin (the programs detach once bulwarkd closes its fds).
    Status remove_all() const;

private:
    explicit PinDir(std::string dir) : dir_(std::move(dir)) {}
    std::string dir_;
};

}  // namespace bulwark
