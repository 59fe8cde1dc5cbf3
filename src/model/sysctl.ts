/** Sysctl values as the kernel prints them ("4096 131072 6291456"); null when this kernel has none by that name. */
export type Sysctls = Readonly<Record<string, string | null>>;
