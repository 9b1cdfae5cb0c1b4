"""Group client addresses the way every per-client limit counts them.

IPv4 addresses count one by one; IPv6 ones per /64, the block a single subscriber usually holds,
so hopping through the addresses of one network buys nothing. The rate limits
(server/limits.py) and the connection cap (server/serving.py) both count by this.
"""

import ipaddress


def address_group(address):
    """Return the group `address` (a string) counts in, or None if it is not an IP address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:  # e.g. a unix socket peer
        return None
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
