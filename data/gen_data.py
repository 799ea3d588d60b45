#!/usr/bin/env python3
"""Writes members.csv, jinyong.dat and smtest.bin. Deterministic: same bytes on every run.

    python3 data/gen_data.py          # from the repository root
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# Korean names: a family name and a two-syllable given name, in Hangul.
FAMILY_KO = ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신", "권", "황", "안", "송", "류", "홍"]
GIVEN_KO = ["민준", "서연", "지훈", "하은", "도윤", "수아", "예준", "지우", "시우", "서윤",
            "주원", "하윤", "지호", "민서", "준서", "채원", "현우", "지민", "건우", "유진",
            "용", "영희", "철수", "성민", "은지"]
# Latin names: given name and family name.
GIVEN_LA = ["Guo", "Huang", "Yang", "Zhang", "Linghu", "Wei", "Duan", "Qiao", "Xu", "Anna",
            "José", "Zoë", "Björn", "Chloé", "Mateo", "Olivia", "Liam", "Noah", "Emma", "Amélie"]
FAMILY_LA = ["Jing", "Rong", "Guo", "Wuji", "Chong", "Xiaobao", "Yu", "Feng", "Zhu", "Smith",
             "García", "Müller", "O'Brien", "Nguyen", "Kowalski", "Dubois", "Rossi", "Silva", "Søren", "Lee"]

N = 3000


def members():
    # A linear congruential generator, so that the file does not depend on Python's
    # random module version.
    x = 20240601
    rows = []
    for i in range(N):
        x = (x * 1103515245 + 12345) % (1 << 31)
        if (x >> 16) % 5 < 3:  # about 60% Korean names
            name = FAMILY_KO[(x >> 17) % len(FAMILY_KO)] + GIVEN_KO[(x >> 23) % len(GIVEN_KO)]
        else:
            name = GIVEN_LA[(x >> 17) % len(GIVEN_LA)] + " " + FAMILY_LA[(x >> 23) % len(FAMILY_LA)]
        rows.append((f"M{i + 1:05d}", name))
    return rows


def csv_cell(s):
    if any(c in s for c in ',"\n\r'):
        return '"' + s.replace('"', '""') + '"'
    return s


def main():
    with open(os.path.join(HERE, "members.csv"), "w", encoding="utf-8", newline="") as f:
        f.write("id,name\n")
        for id_, name in members():
            f.write(f"{csv_cell(id_)},{csv_cell(name)}\n")

    # struct Member { char Id[256]; char name[256]; } x 1000, each Id and name "22",
    # NUL-terminated and zero-padded: what the C program's WriteFile loop writes.
    field = b"22".ljust(256, b"\0")
    with open(os.path.join(HERE, "jinyong.dat"), "wb") as f:
        f.write((field + field) * 1000)

    # #pragma pack(1) struct SMTEST { char c; int i; short s; } = { 'a', 100, 10 }
    with open(os.path.join(HERE, "smtest.bin"), "wb") as f:
        f.write(struct.pack("<cih", b"a", 100, 10))


if __name__ == "__main__":
    main()
