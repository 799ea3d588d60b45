/* bcryptprimitives.dll for Wine 8, which lacks it: Rust's standard library on Windows
 * imports ProcessPrng from it, so every Rust .exe fails to start (status c0000135)
 * without it. ProcessPrng is forwarded to RtlGenRandom (SystemFunction036 in advapi32),
 * which Wine has. Built by .ci/windows with mingw and placed in the prefix's system32. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG n = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        length -= n;
    }
    return TRUE;
}
