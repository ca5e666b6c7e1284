/* A stand-in bcryptprimitives.dll for running switchyard.exe under Wine 8.
 *
 * TEST FIXTURE ONLY, NEVER SHIPPED. Rust's standard library (and getrandom)
 * import ProcessPrng from bcryptprimitives.dll, which Windows 10+ has and
 * Wine 8 lacks, so the .exe does not even load there. tests/wine/run.sh
 * builds this with mingw and puts it beside the .exe in a throwaway Wine
 * prefix. ProcessPrng here draws from RtlGenRandom (advapi32's
 * SystemFunction036), which Wine implements over the host's random source.
 *
 *   x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll processprng.c -ladvapi32
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    /* RtlGenRandom takes a 32-bit length: fill larger requests in chunks. */
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
