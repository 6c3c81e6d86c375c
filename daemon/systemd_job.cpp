#include "daemon/systemd_job.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <systemd/sd-bus.h>

namespace bulwark {

bool running_under_systemd() {
    const char* id = getenv("INVOCATION_ID");
    return id && *id;
}

bool peer_is_init(int fd, std::string& why) {
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        why = std::string("SO_PEERCRED: ") + strerror(errno);
        return false;
    }
    if (cred.pid == 1 && cred.uid == 0) return true;
    why = "the peer on /run/systemd/private is pid " + std::to_string(cred.pid) + ", uid " +
          std::to_string(cred.uid) + ", not systemd (PID 1)";
    return false;
}

std::optional<std::string> own_unit_job_type(std::string& why) {
    sd_bus* bus = nullptr;
    sd_bus_error err = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    std::optional<std::string> out;
    const char* unit_path = nullptr;
    const char* job_path = nullptr;
    char* type = nullptr;
    uint32_t job_id = 0;
    int r = sd_bus_new(&bus);
    if (r >= 0) r = sd_bus_set_address(bus, "unix:path=/run/systemd/private");
    if (r >= 0) r = sd_bus_start(bus);
    if (r < 0) {
        why = std::string("connect to /run/systemd/private: ") + strerror(-r);
        goto done;
    }
    if (!peer_is_init(sd_bus_get_fd(bus), why)) goto done;
    r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                           "org.freedesktop.systemd1.Manager", "GetUnitByPID", &err, &reply, "u",
                           static_cast<uint32_t>(getpid()));
    if (r < 0 || sd_bus_message_read(reply, "o", &unit_path) < 0) {
        why = std::string("GetUnitByPID: ") + (err.message ? err.message : strerror(-r));
        goto done;
    }
    {
        const std::string unit = unit_path;
        sd_bus_message_unref(reply);
        reply = nullptr;
        r = sd_bus_get_property(bus, "org.freedesktop.systemd1", unit.c_str(), "org.freedesktop.systemd1.Unit",
                                "Job", &err, &reply, "(uo)");
        if (r < 0 || sd_bus_message_read(reply, "(uo)", &job_id, &job_path) < 0) {
            why = std::string("read the unit's Job: ") + (err.message ? err.message : strerror(-r));
            goto done;
        }
        if (job_id == 0) {
            out = "";
            goto done;
        }
        const std::string job = job_path;
        r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", job.c_str(), "org.freedesktop.systemd1.Job",
                                       "JobType", &err, &type);
        if (r < 0) {
            why = std::string("read JobType: ") + (err.message ? err.message : strerror(-r));
            goto done;
        }
        out = type;
    }
done:
    free(type);
    sd_bus_message_unref(reply);
    sd_bus_error_free(&err);
    sd_bus_flush_close_unref(bus);
    return out;
}

}  // namespace bulwark
