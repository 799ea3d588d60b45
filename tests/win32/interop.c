/* A C program written against Win32, as the programs fixrec grew from were: named
 * regions with CreateFileMappingA / OpenFileMappingA on the paging file, a packed SMTEST,
 * and jinyong.dat written with WriteFile and read through MapViewOfFile. tests/win32.rs
 * runs it (built with mingw by .ci/windows) against fixrec, in both directions.
 *
 *   interop smtest-create NAME    create NAME (7 bytes), write {'a', 100, 10}, print
 *                                 "ready", keep it until stdin ends
 *   interop smtest-read NAME      open NAME, print "c=%c i=%d s=%d"
 *   interop message-create NAME TEXT   create NAME (256 bytes) holding TEXT, print
 *                                 "ready", keep it until stdin ends
 *   interop message-read NAME     open NAME, print the text in it
 *   interop jinyong-write PATH    write 1000 Members with WriteFile
 *   interop jinyong-read PATH I   map PATH, print member[I].Id and .name
 */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma pack(push, 1)
typedef struct { char c; int i; short s; } SMTEST;
#pragma pack(pop)

typedef struct { char Id[256]; char name[256]; } Member;

static int fail(const char *what) {
    fprintf(stderr, "%s failed: error %lu\n", what, GetLastError());
    return 1;
}

static void hold(void) {
    char line[64];
    printf("ready\n");
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {}
}

int main(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[1], "smtest-create")) {
        HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
                                      sizeof(SMTEST), argv[2]);
        if (!h) return fail("CreateFileMappingA");
        if (GetLastError() == ERROR_ALREADY_EXISTS) return fail("CreateFileMappingA (exists)");
        SMTEST *p = MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, sizeof(SMTEST));
        if (!p) return fail("MapViewOfFile");
        p->c = 'a'; p->i = 100; p->s = 10;
        hold();
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "smtest-read")) {
        HANDLE h = OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, argv[2]);
        if (!h) return fail("OpenFileMappingA");
        SMTEST *p = MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, sizeof(SMTEST));
        if (!p) return fail("MapViewOfFile");
        printf("c=%c i=%d s=%d\n", p->c, p->i, p->s);
        return 0;
    }
    if (argc >= 4 && !strcmp(argv[1], "message-create")) {
        HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 256, argv[2]);
        if (!h) return fail("CreateFileMappingA");
        char *p = MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, 256);
        if (!p) return fail("MapViewOfFile");
        strncpy(p, argv[3], 255);
        hold();
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "message-read")) {
        HANDLE h = OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, argv[2]);
        if (!h) return fail("OpenFileMappingA");
        char *p = MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, 256);
        if (!p) return fail("MapViewOfFile");
        printf("%.256s\n", p);
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "jinyong-write")) {
        HANDLE f = CreateFileA(argv[2], GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                               FILE_ATTRIBUTE_NORMAL, NULL);
        if (f == INVALID_HANDLE_VALUE) return fail("CreateFileA");
        for (int i = 0; i < 1000; i++) {
            Member m;
            DWORD n;
            memset(&m, 0, sizeof m);
            sprintf(m.Id, "%d", i);
            sprintf(m.name, "member %d", i);
            if (!WriteFile(f, &m, sizeof m, &n, NULL) || n != sizeof m) return fail("WriteFile");
        }
        CloseHandle(f);
        return 0;
    }
    if (argc >= 4 && !strcmp(argv[1], "jinyong-read")) {
        HANDLE f = CreateFileA(argv[2], GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                               OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
        if (f == INVALID_HANDLE_VALUE) return fail("CreateFileA");
        HANDLE h = CreateFileMappingA(f, NULL, PAGE_READONLY, 0, 0, NULL);
        if (!h) return fail("CreateFileMappingA");
        Member *member = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
        if (!member) return fail("MapViewOfFile");
        int i = atoi(argv[3]);
        printf("%s|%s\n", member[i].Id, member[i].name);
        return 0;
    }
    fprintf(stderr, "usage: see the comment at the top of interop.c\n");
    return 2;
}
