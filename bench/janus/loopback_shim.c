/* Janus 1.1.2 builds its ICE host candidates from getifaddrs() and skips every interface flagged
 * IFF_LOOPBACK (src/ice.c, janus_ice_setup_local), so it never offers 127.0.0.1. Our own SFU is
 * benchmarked on 127.0.0.1 and this workplace only allows test traffic to loopback addresses, so
 * bench/janus/start preloads this into the Janus process only: it hides the loopback flag, and
 * Janus then gathers a host candidate on 127.0.0.1 like any other address (ice_enforce_list in the
 * generated janus.jcfg still narrows gathering to the one address we want). Nothing else in Janus
 * or on the machine changes; the forwarding path is untouched. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stddef.h>

int getifaddrs(struct ifaddrs **ifap) {
	static int (*real)(struct ifaddrs **) = NULL;
	if(real == NULL)
		real = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
	if(real == NULL)
		return -1;
	int rc = real(ifap);
	if(rc == 0) {
		for(struct ifaddrs *ifa = *ifap; ifa != NULL; ifa = ifa->ifa_next)
			ifa->ifa_flags &= ~IFF_LOOPBACK;
	}
	return rc;
}
