from rest_framework.routers import SimpleRouter

from wedges.api import ProposalViewSet

router = SimpleRouter()
router.register("proposals", ProposalViewSet, basename="proposal")
urlpatterns = router.urls
