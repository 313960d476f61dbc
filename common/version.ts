// The one place the version lives; agents report it in their hello.
export const VERSION = '0.1.0';
