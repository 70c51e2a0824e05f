/* A program built against an installed fieldinspect, as an app would. */
#include <fieldinspect/fieldinspect.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	fic_store *store;
	if (argc < 2 || fic_store_open(&store, argv[1], NULL) != FIC_OK) {
		fprintf(stderr, "open failed: %s\n", fic_error_last()->message);
		return 1;
	}
	fic_site s = FIC_SITE_INIT;
	s.kind = FIC_SITE_WATER_RURAL;
	s.name = "installed consumer";
	fic_site *out;
	int rc = fic_site_add(&out, store, &s, NULL);
	if (rc == FIC_OK) {
		printf("fieldinspect %s saved %s\n", fic_version(), out->id);
		fic_site_free(out);
	}
	fic_store_close(store);
	return rc == FIC_OK ? 0 : 1;
}
