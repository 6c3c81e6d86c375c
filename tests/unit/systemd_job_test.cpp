// Whom bulwarkd believes when it asks systemd about its own unit.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "daemon/systemd_job.h"

using namespace bulwark;

TEST_CASE("a bus peer that is not PID 1 is not believed, and named") {
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    std::string why;
    // The peer of a socketpair is this process: not systemd.
    CHECK_FALSE(peer_is_init(sv[0], why));
    CHECK(why == "the peer on /run/systemd/private is pid " + std::to_string(getpid()) + ", uid " +
                     std::to_string(getuid()) + ", not systemd (PID 1)");
    close(sv[0]);
    close(sv[1]);
    // Not a socket at all: an error, not a yes.
    int p[2];
    REQUIRE(pipe(p) == 0);
    CHECK_FALSE(peer_is_init(p[0], why));
    CHECK(why.rfind("SO_PEERCRED: ", 0) == 0);
    close(p[0]);
    close(p[1]);
}
