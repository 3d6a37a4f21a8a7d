import { ClusterEntity } from '../inventory/cluster.entity.js';
import { GroupEntity } from '../inventory/group.entity.js';
import { DeploymentEntity } from '../inventory/deployment.entity.js';
import { BookVersionEntity } from '../books/book-version.entity.js';
import { JobEntity } from '../jobs/job.entity.js';
import { JobStepEntity } from '../jobs/job-step.entity.js';
import { JobActivityEntity } from '../jobs/job-activity.entity.js';
import { StepDurationEntity } from '../jobs/step-duration.entity.js';
import { StepDurationSampleEntity } from '../jobs/step-duration-sample.entity.js';
import { DeployEventEntity } from '../events/deploy-event.entity.js';
import { ScheduleEntity } from '../scheduler/schedule.entity.js';
import { ScheduleFiringEntity } from '../scheduler/schedule-firing.entity.js';
import { ApiTokenEntity } from '../auth/api-token.entity.js';
import { NotificationDeliveryEntity } from '../notifications/notification-delivery.entity.js';

export const ENTITIES = [
  ClusterEntity,
  GroupEntity,
  DeploymentEntity,
  BookVersionEntity,
  JobEntity,
  JobStepEntity,
  JobActivityEntity,
  StepDurationEntity,
  StepDurationSampleEntity,
  DeployEventEntity,
  ScheduleEntity,
  ScheduleFiringEntity,
  ApiTokenEntity,
  NotificationDeliveryEntity,
];
