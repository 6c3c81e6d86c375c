#include "daemon/systemd_job.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <systemd/sd-bus.h>

namespace bulwark {

bool running_under_systemd() {
    const char* id = getenv("INVOCATION_ID");
    return id && *id;
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
