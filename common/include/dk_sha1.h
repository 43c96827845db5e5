/* dk_sha1.h - SHA-1 (FIPS 180-4) of a buffer, in one call.
 *
 * Only to name Lua scripts the way Redis does (EVALSHA takes the script's SHA-1 in
 * lower-case hex). Not for anything secret: SHA-1 has known collisions; passwords and
 * tokens use libsodium. Pure function, no state: any thread may call it. */
#ifndef DK_SHA1_H
#define DK_SHA1_H

#include <stddef.h>

#define DK_SHA1_LEN 20     /* bytes of a digest */
#define DK_SHA1_HEX_LEN 41 /* its lower-case hex with the NUL */

void dk_sha1(const void *data, size_t len, unsigned char out[DK_SHA1_LEN]);
void dk_sha1_hex(const void *data, size_t len, char out[DK_SHA1_HEX_LEN]);

#endif
