/* A valid plugin built the way no plugin should be: default visibility and no export map, so its
 * two helper functions and its variable are exported beside the entry symbol. It loads, with a
 * warning that counts them and names the flags that hide them. */
#include "minimal.h"

int helper_count(void) { return 1; }
int helper_reset(void) { return 0; }
int plugin_state;

static plinth_plugin_descriptor descriptor = {MINIMAL_DESCRIPTOR_FIELDS};
PLINTH_EXPORT const plinth_plugin_descriptor *plinth_plugin_entry_v1(void) {
    descriptor.name = "exports-everything";
    descriptor.schema = "exports";  /* its widgets are not minimal_valid's */
    return &descriptor;
}
