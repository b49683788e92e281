#include <cstdio>
int main() { std::puts("abierto"); return 0; }
