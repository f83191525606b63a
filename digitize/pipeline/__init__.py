"""The pipeline shared by both drivers: a page's task, a file's finish, the stored page results."""
