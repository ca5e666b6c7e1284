//! The client's own address behind a load balancer (`[proxy]
//! trusted_proxies`).
//!
//! A request whose peer is one of the trusted proxies is taken to come
//! from the address its `X-Forwarded-For` names: the rightmost entry that
//! is not itself a trusted proxy (each proxy appends the address it saw,
//! so entries to the left of that one are the client's word and could be
//! forged). A request from anyone else keeps its peer address, whatever
//! it claims. The wrong-key brake, a client key's `--allow-ip` and the
//! request log all see the address chosen here.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;

/// The address a request is treated as coming from.
pub fn client_address(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpNet]) -> SocketAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if trusted.is_empty() || !is_trusted(&peer.ip()) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    // From the nearest hop outwards; a hop that is no address ends the
    // walk (nothing left of it can be checked).
    let mut client = None;
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else { break };
        client = Some(ip);
        if !is_trusted(&ip) {
            break;
        }
    }
    client.map_or(peer, |ip| SocketAddr::new(ip, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in xff {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    const BALANCER: &str = "10.0.0.2:40000";

    #[test]
    fn a_trusted_balancer_names_the_client() {
        let peer = BALANCER.parse().unwrap();
        let got = client_address(peer, &headers(&["198.51.100.7"]), &nets(&["10.0.0.0/24"]));
        assert_eq!(got.ip(), "198.51.100.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn an_untrusted_peer_keeps_its_own_address_whatever_it_claims() {
        let peer: SocketAddr = "203.0.113.9:5000".parse().unwrap();
        assert_eq!(
            client_address(peer, &headers(&["127.0.0.1"]), &nets(&["10.0.0.0/24"])),
            peer
        );
        assert_eq!(client_address(peer, &headers(&["127.0.0.1"]), &[]), peer);
    }

    #[test]
    fn a_forged_entry_left_of_the_balancers_is_ignored() {
        let peer = BALANCER.parse().unwrap();
        // The client sent "127.0.0.1"; the balancer appended what it saw.
        let got = client_address(
            peer,
            &headers(&["127.0.0.1, 198.51.100.7", "10.0.0.3"]),
            &nets(&["10.0.0.0/24"]),
        );
        assert_eq!(got.ip(), "198.51.100.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn no_usable_header_keeps_the_peer() {
        let peer: SocketAddr = BALANCER.parse().unwrap();
        assert_eq!(client_address(peer, &headers(&[]), &nets(&["10.0.0.0/24"])), peer);
        assert_eq!(
            client_address(peer, &headers(&["unknown"]), &nets(&["10.0.0.0/24"])),
            peer
        );
    }
}
