#include "collectors.h"

namespace vigil {

std::vector<std::unique_ptr<posture::Collector>> make_collectors(const PostureSettings& p,
                                                                 posture::SignalStore& store) {
    std::vector<std::unique_ptr<posture::Collector>> out;
    if (p.systemd) out.push_back(std::make_unique<posture::SystemdCollector>(*p.systemd, store));
    for (const auto& s : p.sockets) out.push_back(std::make_unique<posture::SocketCollector>(s, store));
    if (p.host) out.push_back(std::make_unique<posture::HostCollector>(*p.host, store));
    if (p.falcon) out.push_back(std::make_unique<posture::FalconCollector>(*p.falcon, store));
    if (p.osquery) out.push_back(std::make_unique<posture::OsqueryCollector>(*p.osquery, store));
    if (p.wazuh) out.push_back(std::make_unique<posture::WazuhCollector>(*p.wazuh, store));
    if (p.clamd) out.push_back(std::make_unique<posture::ClamdCollector>(*p.clamd, store));
    return out;
}

}  // namespace vigil
