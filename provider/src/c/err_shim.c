/* Calls OpenSSL's core_vset_error upcall with "%s" and one string.
 *
 * The provider's error messages are built in Rust; the core only offers a
 * va_list-taking upcall, and stable Rust can call but not create a va_list.
 * This is the whole of the C in jpki. */
#include <stdarg.h>
#include <stdint.h>

typedef void (*jpki_vset_error_fn)(const void *handle, uint32_t reason,
                                   const char *fmt, va_list args);

static void jpki_call_vset(jpki_vset_error_fn f, const void *handle,
                           uint32_t reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    f(handle, reason, fmt, ap);
    va_end(ap);
}

void jpki_set_error(jpki_vset_error_fn f, const void *handle, uint32_t reason,
                    const char *message)
{
    if (f != 0)
        jpki_call_vset(f, handle, reason, "%s", message);
}
