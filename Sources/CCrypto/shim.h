#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <openssl/rsa.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/obj_mac.h>

// Swift cannot import function-like or composite macros; these expose the few
// JobGateCrypto needs as plain functions.

/// The selection for EVP_PKEY_fromdata when importing a public key only.
static inline int jg_evp_pkey_public_key_selection(void) { return EVP_PKEY_PUBLIC_KEY; }

/// Frees memory that OpenSSL allocated (OPENSSL_free is a macro).
static inline void jg_openssl_free(void *ptr) { OPENSSL_free(ptr); }

/// The bytes held by a memory BIO (BIO_get_mem_data is a macro over BIO_ctrl).
static inline long jg_bio_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }

// OSSL_PARAM_BLD keeps the key-name pointers (and pushed buffers) until
// OSSL_PARAM_BLD_to_param, so names must outlive the push call. Swift's
// String-to-pointer bridging only lasts for one call; these return the
// header's string literals, which live for the whole program.
static inline const char *jg_param_rsa_n(void) { return OSSL_PKEY_PARAM_RSA_N; }
static inline const char *jg_param_rsa_e(void) { return OSSL_PKEY_PARAM_RSA_E; }
static inline const char *jg_param_group_name(void) { return OSSL_PKEY_PARAM_GROUP_NAME; }
static inline const char *jg_param_pub_key(void) { return OSSL_PKEY_PARAM_PUB_KEY; }
static inline const char *jg_group_p256(void) { return SN_X9_62_prime256v1; }
